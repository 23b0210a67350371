"""Settings: TOML < secret files < .env < WEEKLY_* variables; secrets never in TOML, never printed."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import ROOT, SEEDS, run_weekly

from composer.config import load_settings
from composer.errors import ConfigError


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working folder with no WEEKLY_* variables set."""
    for name in list(os.environ):
        if name.startswith("WEEKLY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    return tmp_path


def test_defaults_without_any_file(workdir):
    """With no config file, .env or variables the built-in defaults apply."""
    settings = load_settings()
    assert settings.smtp.host == "localhost" and settings.issue.language == "en" and settings.issue.greeting is None


def test_precedence_toml_then_dotenv_then_environment(workdir, monkeypatch):
    """Each layer overrides the one below it, key by key."""
    (workdir / "config" / "weekly.toml").write_text('[smtp]\nhost = "toml.example"\nport = 2525\nusername = "t"\n')
    (workdir / ".env").write_text("WEEKLY_SMTP__HOST=dotenv.example\nWEEKLY_SMTP__PORT=2526\n")
    monkeypatch.setenv("WEEKLY_SMTP__HOST", "env.example")
    settings = load_settings()
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.username) == ("env.example", 2526, "t")


def test_secret_in_toml_is_refused(workdir):
    """A password in the committed config file is an error that names the variable to use."""
    (workdir / "config" / "weekly.toml").write_text('[smtp]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match=r"smtp\.password is a secret .* set WEEKLY_SMTP__PASSWORD"):
        load_settings()


def test_secrets_from_a_secrets_dir(workdir):
    """Secret files named by key path are read and stay SecretStr."""
    secrets = workdir / "secrets"
    secrets.mkdir()
    (secrets / "smtp__password").write_text("s3cret\n")
    (secrets / "signing_key").write_text("k3y-" + "x" * 40)
    settings = load_settings(secrets_dir=secrets)
    assert settings.smtp.password.get_secret_value() == "s3cret"
    assert settings.signing_key.get_secret_value() == "k3y-" + "x" * 40


def test_wrong_value_names_the_key_and_variable(workdir, monkeypatch):
    """A wrong-typed value is one ConfigError naming the key and its variable."""
    monkeypatch.setenv("WEEKLY_SMTP__PORT", "many")
    with pytest.raises(ConfigError, match=r"setting smtp.port .*WEEKLY_SMTP__PORT"):
        load_settings()


@pytest.mark.parametrize("name, value", [("WEEKLY_SERVE__ALLOWED_HOSTS", "dig.watch"), ("WEEKLY_DKIM__KEYS", "notjson"),
                                         ("WEEKLY_ISSUE__LANGUAGES", "en")])
def test_a_list_in_the_environment_that_is_not_json_is_one_line(tmp_path, name, value):
    """A list or table setting in the environment must be JSON; one that is not is one line naming its
    variable (not another of the section's, a plain string) and the JSON form, exit 1, no traceback."""
    env = {**os.environ, name: value, "WEEKLY_SERVE__HOST": "0.0.0.0", "WEEKLY_ISSUE__RADAR_SIZE": "9"}
    done = run_weekly("config", env=env, process=True)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"error: setting {name}: ") and "JSON" in done.stderr
    fixed = run_weekly("config", env={**env, name: '["en"]' if "LANGUAGES" in name else "[]"}, process=True)
    assert fixed.returncode == 0, fixed.stderr


def test_a_missing_env_file_is_an_error_as_a_missing_config_is(tmp_path):
    """--env-file naming no file is refused in one line (settings the operator meant would be missing);
    the default .env may be absent."""
    done = run_weekly("--env-file", str(tmp_path / "nosuch.env"), "config", process=True)
    assert done.returncode == 1 and done.stderr == f"error: {tmp_path / 'nosuch.env'}: env file not found (--env-file)\n"
    assert run_weekly("config", process=True).returncode == 0


def test_config_command_masks_secrets(tmp_path):
    """`weekly config` shows the effective settings with the password masked."""
    env = {**os.environ, "WEEKLY_SMTP__PASSWORD": "hunter2", "WEEKLY_SMTP__HOST": "mail.example.org"}
    done = run_weekly("config", env=env)
    assert done.returncode == 0, done.stderr
    assert 'host = "mail.example.org"' in done.stdout
    assert "hunter2" not in done.stdout and 'password = "**********"' in done.stdout


def test_config_errors_exit_1_with_one_line(tmp_path):
    """A bad setting is one line on stderr, exit 1, no traceback."""
    done = run_weekly("config", env={**os.environ, "WEEKLY_SMTP__SECURITY": "tls"})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: setting smtp.security")


@pytest.mark.parametrize("url", ["mysql://weekly@db.dig.watch/weekly", "sqlite:state/ledger.sqlite3",
                                 "file:state/ledger.sqlite3", "postgresq://weekly@db/weekly"])
def test_a_store_url_weekly_does_not_know_is_refused_not_taken_for_a_file(tmp_path, url):
    """A store URL of another scheme (or a misspelt one) was a file name: a new, empty store, whose send
    mailed readers the real one had suppressed. It is one line naming the setting; nothing is created."""
    done = run_weekly("suppressed", cwd=tmp_path, env={**os.environ, "WEEKLY_STORE__URL": url})
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done
    assert "store.url" in done.stderr and "is no store weekly knows" in done.stderr
    assert not any(tmp_path.rglob("*")), list(tmp_path.rglob("*"))
    for good in ("sqlite:///" + str(tmp_path / "a.sqlite3"), str(tmp_path / "b.sqlite3")):
        assert run_weekly("suppressed", cwd=tmp_path, env={**os.environ, "WEEKLY_STORE__URL": good}).returncode == 0


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("WEEKLY_BRAND__PRIMARY_COLOR", "red;background:url(https://evil.example/x.png)", "is not a CSS hex colour"),
    ("WEEKLY_BRAND__PRIMARY_COLOR", "0b3c5d", "is not a CSS hex colour: write #rgb or #rrggbb"),
    ("WEEKLY_BRAND__ACCENT_COLOR", "#e8542", "is not a CSS hex colour"),
    ("WEEKLY_BRAND__ACCENT_COLOR", "orange", "is not a CSS hex colour"),
    ("WEEKLY_BRAND__LOGO_URL", "javascript:alert(1)", "is not an http:// or https:// URL"),
    ("WEEKLY_BRAND__SITE_URL", 'https://dig.watch/" onmouseover="x', "is not an http:// or https:// URL"),
    ("WEEKLY_BRAND__UNSUBSCRIBE_URL", "dig.watch/unsubscribe", "is not an http:// or https:// URL"),
    ("WEEKLY_BRAND__FALLBACK_URL", "data:text/html,hi{query}", "is not an http:// or https:// URL"),
    ("WEEKLY_LLM__BASE_URL", "localhost:11434/v1", "is not an http:// or https:// URL"),
    ("WEEKLY_SOURCES__CONTACT_URL", "https://dig.watch/contact\r\nX-Injected: 1", "is not an http:// or https:// URL"),
])
def test_a_brand_colour_or_link_that_could_carry_css_or_script_is_refused(tmp_path, name, value, reason):
    """A colour goes into CSS and a link into href/src or a header: `weekly build` refuses anything but
    #rgb/#rrggbb and an http(s) URL, in one line naming the setting, exit 1, nothing written."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    done = run_weekly("build", str(SEEDS), "--offline", cwd=tmp_path, env={**os.environ, name: value}, process=True)
    key = name.removeprefix("WEEKLY_").lower().replace("__", ".")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"error: setting {key} (from ") and f"{name}): " in done.stderr
    assert reason in done.stderr and not (tmp_path / "out").exists()


def test_hex_colours_in_either_form_and_an_empty_fallback_are_taken(tmp_path):
    """#RGB and #rrggbb (either case) colour the email; an empty fallback_url means no link, as documented."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    env = {**os.environ, "WEEKLY_BRAND__PRIMARY_COLOR": "#0A3", "WEEKLY_BRAND__ACCENT_COLOR": "#e8542F",
           "WEEKLY_BRAND__FALLBACK_URL": ""}
    done = run_weekly("build", str(SEEDS), "--offline", cwd=tmp_path, env=env, process=True)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "210" / "index.html").read_text(encoding="utf-8")
    assert "#0A3" in html and "#e8542F" in html and "?s=" not in html


def test_a_bad_setting_names_the_line_it_came_from(tmp_path):
    """The error names where the value was set, in the order that wins: the variable, the .env line, the
    TOML line (README: "naming the file or line"), not all three places it might have been."""
    (tmp_path / "config").mkdir()
    toml = tmp_path / "config" / "weekly.toml"
    toml.write_text('[smtp]\nhost = "mail.dig.watch"\n\n[issue]\nlanguage = "en"\nradar_sise = 3\n', encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("WEEKLY_")}
    typo = run_weekly("config", cwd=tmp_path, env=env)
    assert typo.returncode == 1 and typo.stderr == f"error: setting issue.radar_sise (from {toml}:6): unknown key (misspelt?)\n"
    toml.write_text("[smtp]\nport = 25\n", encoding="utf-8")
    (tmp_path / ".env").write_text("# shared with systemd\nPGPASSWORD=secret\nWEEKLY_SMTP__PORT=many\n", encoding="utf-8")
    dotenv = run_weekly("config", cwd=tmp_path, env=env)
    assert dotenv.returncode == 1 and f"setting smtp.port (from {tmp_path / '.env'}:3): " in dotenv.stderr
    variable = run_weekly("config", cwd=tmp_path, env={**env, "WEEKLY_SMTP__PORT": "lots"})
    assert variable.returncode == 1 and "setting smtp.port (from WEEKLY_SMTP__PORT): " in variable.stderr


def test_a_dotenv_shared_with_other_programs_is_read(tmp_path):
    """A .env is often systemd's EnvironmentFile too: other programs' variables in it (PGPASSWORD, PATH …)
    are not weekly's and are left alone; a misspelt WEEKLY_ one is still refused."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "weekly.toml").write_text("", encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith("WEEKLY_")}
    (tmp_path / ".env").write_text("PGPASSWORD=secret\nTZ=Europe/Geneva\nWEEKLY_SMTP__HOST=mail.dig.watch\n",
                                   encoding="utf-8")
    done = run_weekly("config", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "mail.dig.watch" in done.stdout and "secret" not in done.stdout
    (tmp_path / ".env").write_text("PGPASSWORD=secret\nWEEKLY_SMTP__HOTS=mail.dig.watch\n", encoding="utf-8")
    misspelt = run_weekly("config", cwd=tmp_path, env=env)
    assert misspelt.returncode == 1 and "setting smtp.hots (from " in misspelt.stderr and "unknown key" in misspelt.stderr
