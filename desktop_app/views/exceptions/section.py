"""Exceptions as a section of the station: the refused actions, read and marked as dealt with on a worker."""

import logging

from desktop_app.i18n import translate
from desktop_app.sections import Banners, Section
from desktop_app.tasks import TaskRunner
from desktop_app.views.exceptions.exceptions_view import ExceptionsView
from contract.actions import PackRelease
from desktop_app.workflows.exceptions import Exceptions, NotAllowedToResolve, damaged_images, held_orders
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.client import ClientCore
from sync.engine import SyncStatus
from sync.outbox import RejectedMutation
from sync.signin import SignedIn

log = logging.getLogger(__name__)

KEY, TITLE = "exceptions", QT_TRANSLATE_NOOP("Sections", "Exceptions")
ROLES = None  # everyone: a picker sees why her work was refused, a supervisor puts it right

# What people read; kept together so that translation finds them in one place (context "Exceptions").
LOAD_FAILED = QT_TRANSLATE_NOOP("Exceptions", "The refused actions could not be read. Tap Refresh; if it happens "
                                              "again, call IT.")
NOT_ALLOWED = QT_TRANSLATE_NOOP("Exceptions", "Only a supervisor can mark a refused action as dealt with.")
RELEASE_FAILED = QT_TRANSLATE_NOOP("Exceptions", "Sending the order back to packing did not work. Tap Refresh "
                                                 "and try again; if it happens again, call IT.")
RESOLVE_FAILED = QT_TRANSLATE_NOOP("Exceptions", "Marking it as dealt with did not work. Tap Refresh and try again; "
                                                 "if it happens again, call IT.")


class ExceptionsSection(Section):
    """Wraps the ExceptionsView: loads the cards when shown or when refusals arrive, resolves on request."""

    def __init__(self, core: ClientCore, runner: TaskRunner, banners: Banners) -> None:
        view = ExceptionsView()
        super().__init__(KEY, TITLE, ROLES, view, banners.voice(KEY))
        self.view = view
        self._core, self._runner = core, runner
        self.exceptions = Exceptions(core.outbox, name_of=self._name_of)
        self._shown: tuple | None = None  # (cards, held, damaged, can resolve) shown: the same read draws nothing
        view.resolve_requested.connect(self._resolve)
        view.release_requested.connect(self._release)
        view.refresh_requested.connect(lambda: self.load())  # also each time the view is shown

    def set_person(self, person: SignedIn | None) -> None:
        super().set_person(person)
        self._shown = None
        self.view.show_cards([], can_resolve=False)  # read again for the new person when shown

    def load(self, redraw: bool = True) -> None:
        """Read the list on a worker and show it; redraw=False leaves the screen alone if nothing changed."""
        person = self.person
        if person is None:
            return
        can = self.exceptions.can_resolve(person.roles)

        def loaded(found: tuple) -> None:
            if person is not self.person:  # somebody else signed in meanwhile
                return
            found = (*found, can)
            if redraw or found != self._shown:  # a button a supervisor just pressed is set back only when asked
                self._shown = found
                cards, held, damaged, _ = found
                self.view.show_cards(cards, can, held, damaged)

        def failed(exc: BaseException) -> None:
            log.error("reading the refused actions failed", exc_info=exc)
            if person is self.person:
                self.say.show("reject", translate("Exceptions", LOAD_FAILED))

        view = self._core.view
        self._runner.run(lambda: (self.exceptions.cards(), held_orders(view), damaged_images(view)), loaded, failed,
                         name="load exceptions")

    def _release(self, order_id: int) -> None:
        """A supervisor sends a held order back to packing: one durable action, pushed like any other."""
        person = self.person
        if person is None or not self.exceptions.can_resolve(person.roles):
            return

        def failed(exc: BaseException) -> None:
            log.error("sending held order %s back to packing failed", order_id, exc_info=exc)
            if person is self.person:
                self.say.show("reject", translate("Exceptions", RELEASE_FAILED))
            self.load()

        args = PackRelease(order=order_id).checked()
        self._runner.run(lambda: self._core.outbox.append(person.username, PackRelease.NAME, args),
                         lambda _done: self.load(), failed, name="release held order")

    def _resolve(self, mutation_id: str) -> None:
        person = self.person
        if person is None:
            return

        def failed(exc: BaseException) -> None:
            if isinstance(exc, NotAllowedToResolve):
                message = translate("Exceptions", NOT_ALLOWED)
            else:
                log.error("marking refused action %s as dealt with failed", mutation_id, exc_info=exc)
                message = translate("Exceptions", RESOLVE_FAILED)
            if person is self.person:
                self.say.show("reject", message)
            self.load()

        self._runner.run(lambda: self.exceptions.resolve(mutation_id, person.username, person.roles),
                         lambda _done: self.load(), failed, name="resolve exception")

    def data_changed(self, status: SyncStatus) -> None:
        self.status_changed.emit(str(status.rejected) if status.rejected else "")
        # A pull can put an order on the hold shelf or take it off, or bring an image the server found
        # damaged (for a supervisor who just signed in, the first pull of his scope may land after the
        # list was read): read it again while on screen.
        if self.data_moved(status) and self.on_screen:
            self.load(redraw=False)

    def rejected(self, mutations: list[RejectedMutation]) -> str | None:
        if self.on_screen:
            self.load()
        return translate("Exceptions", "%n action(s) refused by the server: see Exceptions", None, len(mutations))

    def _name_of(self, entity: str, row_id: int) -> str | None:
        """The order number or batch code of an id, from the local view (worker thread: read only)."""
        row = self._core.view.row(entity, row_id)
        return None if row is None else row.get("number") or row.get("code")
