"""Every visible string goes through translate(); the pseudo-locale shows which ones do not, and which clip.

Workflows (no Qt) and views call `translate(context, text)` with a literal text whose
values are `{named}` fields filled in afterwards (`.format(order=...)`), so a translator
can move them; Qt's lupdate finds these calls like QCoreApplication.translate. The app
routes them to Qt's translators at start (`use_qt`); until then (headless tools, workflow
tests) a text is its own translation.

The pseudo-locale (setting ui.language = "pseudo") replaces every translated text with an
accented version 40% longer, in brackets: a text on screen without brackets was never
translated, and a label that clips it would clip a longer language too (tests run every
screen in it: tests/desktop_app/test_pseudo_locale.py).
"""

import math
import re
from collections.abc import Callable

_ACCENTED = str.maketrans("AaCcEeIiNnOoSsUuYyZz", "ÅåÇçÉéÎîÑñÖöŠšÜüÝýŽž")
_FIELD = re.compile(r"(\{[^{}]*\}|%\d|%n|<[^>]*>|&(?=\w))")  # format fields, Qt args, markup, shortcut marks
OPEN, CLOSE = "⟦", "⟧"


def english_plural(text: str, n: int) -> str:
    """The source text's own plural: "%n item(s)" is "1 item", "3 items" (n < 0: the text as it is)."""
    if n < 0:
        return text
    return text.replace("%n", str(n)).replace("(s)", "" if n == 1 else "s")


def _untranslated(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    return english_plural(text, n)


_translator: list[Callable[[str, str, str | None, int], str]] = [_untranslated]  # the one hook, set by use_qt()


def translate(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
    """The text in the person's language; n: the count a plural form depends on.

    The signature is QCoreApplication.translate's, so lupdate reads a plural call
    (`translate(ctx, "%n item(s)", None, n)`) as one.
    """
    return _translator[0](context, text, disambiguation, n)


def use_qt() -> None:
    """Route translate() to Qt's installed translators (call once the QApplication exists)."""
    from PySide6.QtCore import QCoreApplication

    def qt(context: str, text: str, disambiguation: str | None = None, n: int = -1) -> str:
        found = QCoreApplication.translate(context, text, disambiguation, n)
        # No translation of a plural text: Qt filled in %n only; the source's "(s)" still needs a form.
        return english_plural(text, n) if n >= 0 and found == text.replace("%n", str(n)) else found

    _translator[0] = qt


def pseudo(text: str) -> str:
    """The pseudo-locale's version of a text: accented, 40% longer, in brackets; fields and markup kept."""
    if not text.strip():
        return text
    parts = _FIELD.split(text)
    visible = sum(len(p) for i, p in enumerate(parts) if i % 2 == 0)
    out = "".join(p if i % 2 else p.translate(_ACCENTED) for i, p in enumerate(parts))
    # The extra length comes as words of at most 10 characters: a longer language has more and
    # longer words, not one word as long as a sentence that no label could wrap.
    extra = math.ceil(visible * 0.4)
    padding = " ".join("~" * min(10, extra - i) for i in range(0, extra, 10)) if extra > 10 else "~" * extra
    return f"{OPEN}{out}{padding}{CLOSE}"


def install_pseudo_locale(app) -> object:
    """Install the pseudo-locale translator on a QCoreApplication; returns it (keep a reference)."""
    from PySide6.QtCore import QTranslator

    class PseudoTranslator(QTranslator):
        """Answers every lookup with pseudo(source)."""

        def translate(self, context, source, disambiguation=None, n=-1):  # noqa: ARG002 (Qt's signature)
            return pseudo(source)

        def isEmpty(self) -> bool:
            return False

    translator = PseudoTranslator(app)
    app.installTranslator(translator)
    return translator
