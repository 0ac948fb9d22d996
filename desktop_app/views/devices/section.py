"""Devices as a section of the station: the supervisor's fleet, loaded and acted on through the order API on a worker."""

import logging

from desktop_app.sections import Banners, Section
from desktop_app.tasks import TaskRunner
from desktop_app.views.devices.devices_view import DevicesView
from desktop_app.workflows.devices import SUPERVISOR_ROLES, DeviceBoard, RecoveryCode, can_manage
from sync.api import Offline, ServerBusy
from sync.client import ClientCore
from sync.signin import SignedIn

log = logging.getLogger(__name__)

KEY, TITLE = "devices", "Devices"
ROLES = SUPERVISOR_ROLES

# What people read; kept together so that translation finds them in one place.
LIST, TAKE_OUT, CODE = "The device list", "Taking the device out of service", "The recovery code"
OUT_OF_REACH = "{what} did not work now: the server is out of reach. Try again in a moment."
REFUSED = "{what} did not work: the server refused it. Try again; if it happens again, call IT."


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
        log.warning("%s failed: %s", what, exc)
        if person is not self.person:
            return  # asked for by someone who is no longer here
        if isinstance(exc, (Offline, ServerBusy)):
            self.view.say(OUT_OF_REACH.format(what=what))
            return
        self.view.say(REFUSED.format(what=what))
        self.load()
