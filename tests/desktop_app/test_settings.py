"""Declared settings: precedence of the sources, locking by IT, bad values, and saving the user config."""

import tomllib
from pathlib import Path

import pytest

from desktop_app.settings import (SETTINGS, Setting, SettingError, SettingLocked, Settings, coerce,
                                  machine_config_path, user_config_path)


@pytest.fixture
def machine(tmp_path) -> Path:
    return tmp_path / "etc" / "config.toml"


@pytest.fixture
def user(tmp_path) -> Path:
    return tmp_path / "home" / "floorhand" / "config.toml"


@pytest.fixture
def load(machine, user):
    def load(environ=None, overrides=None) -> Settings:
        return Settings.load(machine_path=machine, user_path=user, environ=environ or {}, overrides=overrides)
    return load


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_every_default_is_a_valid_value_of_its_setting():
    for setting in SETTINGS:
        assert coerce(setting, setting.default, from_text=False) == setting.default, setting.name
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)


def test_without_files_every_setting_is_its_default(load):
    settings = load()
    assert [(v.setting.name, v.value, v.source) for v in settings.values()] == [
        (s.name, s.default, "default") for s in SETTINGS]
    assert settings.problems == []
    assert settings["scanner.max_gap_ms"] == 50
    with pytest.raises(KeyError):
        settings["scanner.serial_port"]


def test_each_source_beats_the_one_below(load, machine, user):
    write(machine, 'server_url = "https://machine"\n[scanner]\nmax_gap_ms = 30\nmin_length = 6\n'
                   '[sounds]\nvolume = 0.5\nenabled = false\n')
    write(user, '[scanner]\nmax_gap_ms = 25\nmin_length = 8\n[sounds]\nvolume = 0.3\n')
    environ = {"FLOORHAND_SCANNER_MAX_GAP_MS": "20", "FLOORHAND_SOUNDS_VOLUME": "0.2"}
    settings = load(environ=environ, overrides={"scanner.max_gap_ms": "15"})

    assert settings["server_url"] == "https://machine"
    assert settings.value("server_url").source == f"machine config ({machine})"
    assert settings["sounds.enabled"] is False
    assert settings["scanner.min_length"] == 8
    assert settings.value("scanner.min_length").source == f"user config ({user})"
    assert settings["sounds.volume"] == 0.2
    assert settings.value("sounds.volume").source == "environment (FLOORHAND_SOUNDS_VOLUME)"
    assert settings["scanner.max_gap_ms"] == 15
    assert settings.value("scanner.max_gap_ms").source == "command line"
    assert settings["picking.claim_ahead"] == 0
    assert settings.value("picking.claim_ahead").source == "default"
    assert settings.problems == []


def test_quoted_dotted_keys_and_int_for_float_are_accepted(load, user):
    write(user, '"scanner.max_gap_ms" = 40\n"ui.font_scale" = 2\n')
    settings = load()
    assert settings["scanner.max_gap_ms"] == 40
    assert settings["ui.font_scale"] == 2.0
    assert isinstance(settings["ui.font_scale"], float)


def test_a_locked_key_ignores_user_environment_and_command_line(load, machine, user):
    write(machine, 'locked = ["server_url", "scanner.max_gap_ms"]\nserver_url = "https://orders.example"\n')
    write(user, 'server_url = "https://mine"\n[scanner]\nmax_gap_ms = 20\n')
    settings = load(environ={"FLOORHAND_SERVER_URL": "https://env", "FLOORHAND_SCANNER_MAX_GAP_MS": "10"},
                    overrides={"server_url": "https://cli"})

    url = settings.value("server_url")
    assert (url.value, url.locked) == ("https://orders.example", True)
    assert url.source == f"machine config ({machine})"
    assert url.overridden == (f"user config ({user})", "environment (FLOORHAND_SERVER_URL)", "command line")
    # Locked without a machine value: the default wins.
    gap = settings.value("scanner.max_gap_ms")
    assert (gap.value, gap.source, gap.locked) == (50, "default", True)
    assert gap.overridden == (f"user config ({user})", "environment (FLOORHAND_SCANNER_MAX_GAP_MS)")
    assert settings.locked("server_url") and not settings.locked("device_name")
    assert settings.value("device_name").overridden == ()
    assert settings.problems == []


def test_a_bad_value_is_a_problem_and_the_next_lower_source_is_used(load, machine, user, caplog):
    write(machine, '[scanner]\nmax_gap_ms = "fast"\n')
    write(user, '[scanner]\nmin_length = 6\n[sounds]\nvolume = 1.5\n')
    settings = load(environ={"FLOORHAND_SCANNER_MIN_LENGTH": "many", "FLOORHAND_UI_LAYOUT": "tablet"},
                    overrides={"picking.location_scan_required": "maybe"})

    assert settings["scanner.max_gap_ms"] == 50
    assert settings["scanner.min_length"] == 6
    assert settings["sounds.volume"] == 0.8
    assert settings["ui.layout"] == "auto"
    assert settings["picking.location_scan_required"] is True
    assert settings.problems == [
        f"{machine}: scanner.max_gap_ms = 'fast' is not a whole number; using 50 from defaults",
        f"{user}: sounds.volume = 1.5 is above the maximum of 1.0; using 0.8 from defaults",
        f"FLOORHAND_UI_LAYOUT = 'tablet' is not one of auto, desktop, handheld; using 'auto' from defaults",
        f"FLOORHAND_SCANNER_MIN_LENGTH = 'many' is not a whole number; using 6 from user config ({user})",
        "command line: picking.location_scan_required = 'maybe' is not true or false "
        "(true/false, yes/no, 1/0, on/off); using true from defaults",
    ]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"setting not used: {problem}" for problem in settings.problems]


def test_toml_values_must_have_the_right_type(load, user):
    write(user, 'offline_days = true\n"sounds.enabled" = "yes"\ndevice_name = 7\n"sounds.volume" = nan\n')
    settings = load()
    assert settings["offline_days"] == 7
    assert settings["sounds.enabled"] is True
    assert settings["sounds.volume"] == 0.8
    assert [p.split(" = ")[1].split(";")[0] for p in settings.problems] == [
        "true is not a whole number", "'yes' is not true or false", "7 is not text", "nan is not a finite number"]


def test_unknown_keys_are_reported_with_a_suggestion(load, machine, user):
    write(machine, 'locked = ["scanner.max_gap"]\n')
    write(user, '[scanner]\nmax_gap = 30\n[picking]\nspeed = 3\nlocked = ["server_url"]\n')
    settings = load(overrides={"sound.volume": "0.5"})
    assert settings["scanner.max_gap_ms"] == 50
    assert settings.problems == [
        f"{machine}: locked names unknown setting 'scanner.max_gap' (did you mean 'scanner.max_gap_ms'?)",
        f"{user}: unknown setting 'scanner.max_gap' (did you mean 'scanner.max_gap_ms'?); ignored",
        f"{user}: unknown setting 'picking.speed'; ignored",
        f"{user}: unknown setting 'picking.locked'; ignored",
        "command line: unknown setting 'sound.volume' (did you mean 'sounds.volume'?); ignored",
    ]


def test_only_the_machine_config_can_lock(load, user):
    write(user, 'locked = ["server_url"]\nserver_url = "https://mine"\n')
    settings = load(overrides={"server_url": "https://cli"})
    assert settings["server_url"] == "https://cli"
    assert not settings.locked("server_url")
    assert settings.problems == [f"{user}: only the machine config can lock settings; 'locked' is ignored here"]


def test_an_invalid_toml_file_is_reported_and_ignored(load, machine, user):
    write(machine, "server_url = https://no-quotes\n")
    write(user, '[scanner]\nmax_gap_ms = 30\n')
    settings = load()
    assert settings["server_url"] == ""
    assert settings["scanner.max_gap_ms"] == 30
    assert len(settings.problems) == 1
    assert settings.problems[0].startswith(f"{machine}: cannot be read (")
    assert settings.problems[0].endswith("); ignoring this file")


def test_environment_variable_names():
    names = {s.name: s.env_name for s in SETTINGS}
    assert names["scanner.max_gap_ms"] == "FLOORHAND_SCANNER_MAX_GAP_MS"
    assert names["server_url"] == "FLOORHAND_SERVER_URL"
    assert Setting("a-b.c", str, "", "").env_name == "FLOORHAND_A_B_C"


def test_an_empty_environment_variable_counts_as_not_set(load, user):
    write(user, 'server_url = "https://mine"\n')
    assert load(environ={"FLOORHAND_SERVER_URL": ""})["server_url"] == "https://mine"


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True), (" Yes ", True),
    ("false", False), ("0", False), ("no", False), ("Off", False)])
def test_bool_parsing(load, text, expected):
    settings = load(environ={"FLOORHAND_PICKING_LOCATION_SCAN_REQUIRED": text, "FLOORHAND_SOUNDS_ENABLED": text})
    assert settings["picking.location_scan_required"] is expected
    assert settings["sounds.enabled"] is expected


def test_command_line_accepts_typed_values_and_skips_none(load):
    settings = load(overrides={"offline_days": 30, "sounds.volume": 1, "server_url": None})
    assert settings["offline_days"] == 30
    assert settings["sounds.volume"] == 1.0
    assert settings.value("server_url").source == "default"


def test_config_paths_follow_the_environment(tmp_path):
    environ = {"FLOORHAND_MACHINE_CONFIG": str(tmp_path / "m.toml"), "FLOORHAND_USER_CONFIG": str(tmp_path / "u.toml")}
    assert machine_config_path(environ) == tmp_path / "m.toml"
    assert user_config_path(environ) == tmp_path / "u.toml"
    write(tmp_path / "u.toml", 'device_name = "pack-3"\n')
    settings = Settings.load(environ=environ)
    assert (settings.machine_path, settings.user_path) == (tmp_path / "m.toml", tmp_path / "u.toml")
    assert settings["device_name"] == "pack-3"
    assert user_config_path({}).name == "config.toml"
    assert "floorhand" in str(user_config_path({})).lower()


def test_save_user_writes_toml_keeps_other_keys_and_reloads(load, user):
    write(user, '# my scanner is slow\n"scanner.max_gap_ms" = 80\n[sounds]\nvolume = 0.4\n')
    settings = load(overrides={"offline_days": "3"})
    fresh = settings.save_user({"scanner.max_gap_ms": 30, "ui.layout": "handheld", "sounds.enabled": "no",
                                "offline_days": 20})

    assert tomllib.loads(user.read_text(encoding="utf-8")) == {
        "scanner": {"max_gap_ms": 30}, "sounds": {"volume": 0.4, "enabled": False},
        "ui": {"layout": "handheld"}, "offline_days": 20}
    assert fresh["scanner.max_gap_ms"] == 30
    assert fresh.value("ui.layout").source == f"user config ({user})"
    assert fresh["offline_days"] == 3  # the command line still wins for this run
    assert (fresh.user_path, fresh.machine_path) == (settings.user_path, settings.machine_path)
    assert [p.name for p in user.parent.iterdir()] == ["config.toml"]  # no temporary file left behind


def test_save_user_creates_the_folder_and_none_removes_a_key(load, user):
    load().save_user({"device_name": "pick-7", "scanner.prefix": "]"})
    assert tomllib.loads(user.read_text(encoding="utf-8")) == {"device_name": "pick-7", "scanner": {"prefix": "]"}}
    fresh = load().save_user({"scanner.prefix": None})
    assert fresh["scanner.prefix"] == ""
    assert fresh["device_name"] == "pick-7"


def test_save_user_refuses_locked_keys_even_when_locked_after_loading(load, machine, user):
    settings = load()
    write(machine, 'locked = ["server_url"]\n')
    with pytest.raises(SettingLocked, match="server_url is set by your IT department"):
        settings.save_user({"device_name": "pick-7", "server_url": "https://mine"})
    assert not user.exists()


@pytest.mark.parametrize(("changes", "message"), [
    ({"scanner.max_gap_ms": 1000}, "scanner.max_gap_ms = 1000 is above the maximum of 500"),
    ({"scanner.suffix": "space"}, "scanner.suffix = 'space' is not one of enter, tab, none"),
    ({"offline_days": "week"}, "offline_days = 'week' is not a whole number"),
    ({"scanner.gap": 3}, "there is no setting called 'scanner.gap'"),
])
def test_save_user_refuses_bad_values_and_writes_nothing(load, user, changes, message):
    write(user, 'device_name = "pick-7"\n')
    with pytest.raises(SettingError) as refused:
        load().save_user(changes)
    assert str(refused.value) == message
    assert user.read_text(encoding="utf-8") == 'device_name = "pick-7"\n'


def test_save_user_does_not_overwrite_a_user_file_it_cannot_parse(load, user):
    write(user, "server_url = \n")
    with pytest.raises(SettingError, match="fix or remove it before saving"):
        load().save_user({"device_name": "pick-7"})
    assert user.read_text(encoding="utf-8") == "server_url = \n"
