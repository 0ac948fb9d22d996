"""The supervisor's list of refused actions and what to do about each."""

from desktop_app.views.exceptions.exceptions_view import ExceptionCardFrame, ExceptionsView

__all__ = ["ExceptionCardFrame", "ExceptionsView"]
