"""Devices as a section of the station: the supervisor's fleet, loaded and acted on through the order API on a worker."""

import logging

from desktop_app.i18n import translate
from desktop_app.sections import Banners, Section
from desktop_app.tasks import TaskRunner
from desktop_app.views.devices.devices_view import DevicesView
from desktop_app.workflows.devices import SUPERVISOR_ROLES, DeviceBoard, RecoveryCode, can_manage
from sync.api import Offline, ServerBusy
from sync.catalogue.entry import QT_TRANSLATE_NOOP
from sync.client import ClientCore
from sync.signin import SignedIn

log = logging.getLogger(__name__)

KEY, TITLE = "devices", QT_TRANSLATE_NOOP("Sections", "Devices")
ROLES = SUPERVISOR_ROLES

# What people read when an operation fails; kept together so that translation finds them in one place.
LIST, TAKE_OUT, CODE = "load the device list", "take a device out of service", "get a recovery code"  # for the log
OUT_OF_REACH = {
    LIST: QT_TRANSLATE_NOOP("Devices", "The device list could not be read now: the server is out of reach. Try again "
                                       "in a moment."),
    TAKE_OUT: QT_TRANSLATE_NOOP("Devices", "Taking the device out of service did not work now: the server is out of "
                                           "reach. Try again in a moment."),
    CODE: QT_TRANSLATE_NOOP("Devices", "The recovery code could not be made now: the server is out of reach. Try "
                                       "again in a moment."),
}
REFUSED = {
    LIST: QT_TRANSLATE_NOOP("Devices", "The device list could not be read: the server refused it. Try again; if it "
                                       "happens again, call IT."),
    TAKE_OUT: QT_TRANSLATE_NOOP("Devices", "Taking the device out of service did not work: the server refused it. Try "
                                           "again; if it happens again, call IT."),
    CODE: QT_TRANSLATE_NOOP("Devices", "The recovery code could not be made: the server refused it. Try again; if it "
                                       "happens again, call IT."),
}


class DevicesSection(Section):
    """Wraps the DevicesView: the list is read each time it is shown; taking out of service and codes on request."""

    def __init__(self, core: ClientCore, runner: TaskRunner, banners: Banners) -> None:
        view = DevicesView()
        super().__init__(KEY, TITLE, ROLES, view, banners.voice(KEY))
        self.view = view
        self._runner = runner
        self.devices = DeviceBoard(core.api, core.device.device_id)
        view.refresh_requested.connect(self.load)  # also each time the view is shown
        view.revoke_requested.connect(self._take_out_of_service)
        view.code_requested.connect(self._recovery_code)

    def set_person(self, person: SignedIn | None) -> None:
        super().set_person(person)
        self.view.show_devices([])
        self.view.say("")

    def load(self) -> None:
        person = self.person
        if person is None or not can_manage(person.roles):
            return
        self._runner.run(self.devices.load, lambda rows: person is self.person and self.view.show_devices(rows),
                         lambda exc: self._failed(LIST, exc, person), name="load devices")

    def _take_out_of_service(self, device_id: str) -> None:
        person = self.person

        def done(message: str) -> None:
            if person is self.person:
                self.view.say(message)
                self.load()

        self._runner.run(lambda: self.devices.take_out_of_service(device_id), done,
                         lambda exc: self._failed(TAKE_OUT, exc, person), name="take a device out of service")

    def _recovery_code(self, device_id: str) -> None:
        person = self.person

        def done(code: RecoveryCode) -> None:
            if person is self.person:
                self.view.show_code(code)

        self._runner.run(lambda: self.devices.recovery_code(device_id), done,
                         lambda exc: self._failed(CODE, exc, person), name="recovery code")

    def _failed(self, what: str, exc: BaseException, person: SignedIn | None) -> None:
        log.warning("could not %s: %s", what, exc)
        if person is not self.person:
            return  # asked for by someone who is no longer here
        if isinstance(exc, (Offline, ServerBusy)):
            self.view.say(translate("Devices", OUT_OF_REACH[what]))
            return
        self.view.say(translate("Devices", REFUSED[what]))
        self.load()
