"""Check the demo site in a real headless browser: a stale page at once, then the fresh one.

Run it once ``./demo --check`` (or ``./demo``) has set up ``.venv-demo`` and the database, with
selenium in ``.venv-demo`` and Debian's ``chromium`` and ``chromium-driver`` installed;
``example/browser-check`` does all of that, then runs::

    .venv-demo/bin/python example/browser_check.py [--screenshots DIR]

It starts the demo site on a free port, on a copy of ``example/db.sqlite3`` (the demo's own data
is left as it was), and drives two Chromium windows:

* the **editor** loads ``/``, logs into ``/admin/`` as admin/admin, loads ``/`` as admin (each
  user has pages of their own), edits the newest article's title, reloads ``/`` and must see the
  old title with ``stale`` in the footer; then reloads until the new title shows with ``hit``;
* a **visitor** (another window, never logged in) loaded ``/`` before the edit and must see the
  same: the old title marked ``stale`` at once, then the new one as a ``hit``.

It saves screenshots of the stale and the fresh page (``/tmp`` by default) and exits 0 when every
step saw what it expected, 1 otherwise, saying which step failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smoke_check import MANAGE, free_port, wait_until_up

EXAMPLE = Path(__file__).resolve().parent
DATABASE = EXAMPLE / "db.sqlite3"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Flags that work in a container, as root, without a display or network access.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--window-size=1100,1000",
]
RELOADS = 20  # reloads allowed for the fresh page to show up
WAIT_SECONDS = 30  # for a page, or the page a form leads to, to show what is expected
RELOAD_PAUSE = 0.5  # seconds between them
STATUS = re.compile(r"\b(hit|stale|miss|bypass)\b")
SETTINGS = """\
from demo_site.settings import *  # noqa: F403

DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}}
"""


class CheckFailed(Exception):
    """A step did not see what it expected."""


def say(message: str) -> None:
    print(f"browser-check: {message}", flush=True)


def start_site(workdir: Path, port: int, log) -> subprocess.Popen:
    """Start the demo site on ``port`` with a copy of its database, as smoke_check does."""
    if not DATABASE.exists():
        raise CheckFailed(f"{DATABASE} is missing: run ./demo --check first")
    shutil.copy(DATABASE, workdir / "db.sqlite3")
    (workdir / "browser_check_settings.py").write_text(
        SETTINGS.format(database=str(workdir / "db.sqlite3"))
    )
    path = os.pathsep.join(filter(None, [str(workdir), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "DJANGO_SETTINGS_MODULE": "browser_check_settings"}
    return subprocess.Popen(
        [sys.executable, str(MANAGE), "runserver", "--noreload", f"127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def new_browser(profile: Path):
    """A headless Chromium driven by the system chromedriver, with a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    # The browser's own cache off: pages carry an ETag, so a reload revalidates and a 304 shows
    # the copy the browser kept, whose footer tells the status of an earlier response. The
    # check reads what the server answers each time.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    return driver


class Page:
    """What the article list shows: its titles, the footer, and the cache status in it."""

    def __init__(self, driver) -> None:
        from selenium.webdriver.common.by import By

        links = driver.find_elements(By.CSS_SELECTOR, "main article h2 a")
        self.titles = [link.text for link in links]
        self.links = [link.get_attribute("href") for link in links]
        self.footer = driver.find_element(By.CSS_SELECTOR, "footer span").text
        found = STATUS.search(self.footer)
        self.status = found.group(1) if found else None
        self.header = driver.find_element(By.CSS_SELECTOR, "header").text

    def __str__(self) -> str:
        first = self.titles[0] if self.titles else "(no article)"
        return f"first title {first!r}, footer {self.footer!r}"


def wait_for(driver, css: str, what: str) -> None:
    """Wait until an element matching ``css`` is on the page: a click navigates later."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    try:
        WebDriverWait(driver, WAIT_SECONDS).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )
    except TimeoutException:
        raise CheckFailed(f"{what} (no {css!r} at {driver.current_url})") from None


def load(driver, url: str) -> Page:
    driver.get(url)
    wait_for(driver, "main article h2 a", "the article list did not load")
    wait_for(driver, "footer span", "the article list has no footer")
    return Page(driver)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def warm_up(driver, base: str, who: str) -> Page:
    """Load ``/`` until it is a hit (a miss first on an empty cache); return the hit."""
    first = load(driver, base + "/")
    say(f"{who}: GET / -> {first.status} ({first})")
    expect(first.status in ("miss", "hit"), f"{who}: expected miss or hit, got {first.footer!r}")
    expect(bool(first.titles), f"{who}: the page lists no article")
    second = load(driver, base + "/")
    say(f"{who}: GET / again -> {second.status}")
    expect(second.status == "hit", f"{who}: expected hit on the second load: {second.footer!r}")
    return second


def log_in(driver, base: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + "/admin/login/?next=/admin/")
    driver.find_element(By.ID, "id_username").send_keys("admin")
    driver.find_element(By.ID, "id_password").send_keys("admin")
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(driver, "#user-tools", "logging in as admin/admin failed")
    say("editor: logged into /admin/ as admin")


def edit_title(driver, base: str, article_url: str, title: str) -> None:
    from selenium.webdriver.common.by import By

    pk = article_url.rstrip("/").rsplit("/", 1)[-1]
    driver.get(f"{base}/admin/articles/article/{pk}/change/")
    wait_for(driver, "#id_title", f"the admin page of article {pk} did not load")
    field = driver.find_element(By.ID, "id_title")
    field.clear()
    field.send_keys(title)
    driver.find_element(By.NAME, "_save").click()
    wait_for(driver, ".messagelist .success", "saving the article in the admin failed")
    say(f"editor: saved article {pk} with the title {title!r}")


def stale_then_fresh(driver, base: str, who: str, old: str, new: str, shots: dict) -> None:
    """``/`` must show ``old`` marked stale at once, then ``new`` as a hit within the reloads."""
    stale = load(driver, base + "/")
    say(f"{who}: GET / after the edit -> {stale.status} ({stale})")
    if "stale" in shots:
        driver.save_screenshot(str(shots["stale"]))
    expect(stale.status == "stale", f"{who}: expected a stale page, got {stale.footer!r}")
    expect(stale.titles[0] == old, f"{who}: the stale page should show the old title: {stale}")
    for attempt in range(1, RELOADS + 1):
        time.sleep(RELOAD_PAUSE)
        page = load(driver, base + "/")
        if page.titles and page.titles[0] == new and page.status == "hit":
            say(f"{who}: reload {attempt} -> {page.status} ({page})")
            if "fresh" in shots:
                driver.save_screenshot(str(shots["fresh"]))
            return
        say(f"{who}: reload {attempt} -> {page.status} (not the new page yet)")
    raise CheckFailed(
        f"{who}: the new title with 'hit' did not show within {RELOADS} reloads "
        f"({RELOADS * RELOAD_PAUSE:.0f} s)"
    )


def run(base: str, workdir: Path, screenshots: Path) -> None:
    editor = new_browser(workdir / "editor-profile")
    visitor = None
    try:
        warm_up(editor, base, "editor (not logged in yet)")
        visitor = new_browser(workdir / "visitor-profile")
        before = warm_up(visitor, base, "visitor")
        log_in(editor, base)
        # Logged in, the editor is another visitor with pages of their own: cache them too.
        mine = warm_up(editor, base, "editor (logged in)")
        expect("logged in as admin" in mine.header, "the editor's page is not the admin's")
        old = mine.titles[0]
        new = f"{old} (edited {time.strftime('%H:%M:%S')})"
        edit_title(editor, base, mine.links[0], new)
        shots = {
            "stale": screenshots / "jimmypage-stale.png",
            "fresh": screenshots / "jimmypage-fresh.png",
        }
        stale_then_fresh(editor, base, "editor", old, new, shots)
        expect(before.titles[0] == old, "the visitor's page lists another first article")
        visitor_shots = {
            "stale": screenshots / "jimmypage-visitor-stale.png",
            "fresh": screenshots / "jimmypage-visitor-fresh.png",
        }
        stale_then_fresh(visitor, base, "visitor", old, new, visitor_shots)
        say(f"screenshots: {', '.join(str(path) for path in [*shots.values()])}")
    finally:
        editor.quit()
        if visitor is not None:
            visitor.quit()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--screenshots",
        type=Path,
        default=Path(tempfile.gettempdir()),
        help="folder for the screenshots (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    for name in ("no_proxy", "NO_PROXY"):  # the browser and its driver talk over loopback
        os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1,localhost"]))
    for program in (CHROMIUM, CHROMEDRIVER):
        if not Path(program).exists():
            say(f"FAILED: {program} is missing: apt-get install chromium chromium-driver")
            return 1
    try:
        import selenium  # noqa: F401
    except ImportError:
        say(f"FAILED: selenium is missing: {sys.executable} -m pip install selenium")
        return 1
    args.screenshots.mkdir(parents=True, exist_ok=True)
    port = os.environ.get("PORT") or free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="jimmypage-browser-") as tmp:
        workdir = Path(tmp)
        with open(workdir / "server.log", "w+") as log:
            error = None
            try:
                server = start_site(workdir, port, log)
            except CheckFailed as exc:
                say(f"FAILED: {exc}")
                return 1
            try:
                wait_until_up(server, base)
                say(f"demo site up at {base} (on a copy of the database)")
                run(base, workdir, args.screenshots)
            except CheckFailed as exc:
                error = str(exc)
            except Exception as exc:  # the browser or its driver failed: say so plainly
                error = f"{type(exc).__name__}: {exc}"
            finally:
                server.terminate()
                server.wait(timeout=30)
            if error is None:
                say("OK: the stale page came at once, then the fresh one, for both visitors.")
                return 0
            log.seek(0)
            say(f"FAILED: {error}")
            print(f"--- server output ---\n{log.read()}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
