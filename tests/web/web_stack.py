"""web_stack: roster's web pages as a browser sees them, for tests/web/*.test.
A private MariaDB (and, when asked, a private Dovecot using roster's passdb on
it: tests/dovecot/dovecot_stack.py), roster-apid serving the pages straight
from the source tree's web/ on a loopback TCP port (tests/api/apid_stack.py),
and Debian's headless Chromium driven by Debian's chromedriver through
python3-selenium.

The browser is sealed off: a profile directory of its own inside the test's
temporary directory (removed with it), every host name but localhost
resolving to nothing (--host-resolver-rules) and every non-loopback
connection sent to a proxy that is not there, no background networking,
component updates, sync or first-run pages. So it reaches roster-apid on
127.0.0.1 and nothing else. --no-sandbox only when running as root, which
Chromium's sandbox refuses. Screenshots go to the build directory's
tests/web/screenshots/ (test artefacts; doc/web.md links them)."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import apid_stack  # noqa: E402
from apid_stack import dovecot_stack  # noqa: E402

CHROMIUM = os.environ.get("ROSTER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("ROSTER_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = os.path.join(dovecot_stack.BUILDDIR, "tests", "web", "screenshots")
WEB_ROOT = os.path.join(dovecot_stack.SRCDIR, "web")


def missing():
    """Why the browser tests cannot run here ("" if they can)."""
    if os.geteuid() != 0:
        return "needs root (roster-apid drops to nobody, Dovecot runs privately)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing (tools/deps installs chromium and chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "python3-selenium is missing (tools/deps installs it)"
    return ""


class WebStack:
    """MariaDB, optionally Dovecot, and roster-apid serving web/."""

    def __init__(self, dovecot=False, settings="", apid_env=None):
        """apid_env: variables for roster-apid's environment only (a test's
        libfaketime: tests/web/selfservice.test), never for the others."""
        # No auth cache: a password changed through the pages counts at
        # Dovecot's next login (roster-apid here has no auth-master socket
        # to flush it).
        self.stack = dovecot_stack.Stack(auth_cache_size="0")
        self.browsers = []
        try:
            self.stack.start_db()
            if dovecot:
                self.stack.start_dovecot()
            # The browser is a plain client (never a trusted proxy); the
            # cookie is not Secure because this is plain HTTP on loopback.
            self.apid = apid_stack.Apid(
                self.stack, f"api_web_root = {WEB_ROOT}\napi_cookie_secure = no\n{settings}", tcp=True,
                proxies="uid:0")
            saved = {name: os.environ.get(name) for name in (apid_env or {})}
            os.environ.update(apid_env or {})
            try:
                self.apid.start()
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
        except Exception:
            self.stack.stop()
            raise
        self.origin = f"http://127.0.0.1:{self.apid.port}"

    def browser(self, lang="en-US"):
        b = Browser(os.path.join(self.stack.dir, f"chromium{len(self.browsers) + 1}"), lang)
        self.browsers.append(b)
        return b

    def stop(self):
        for b in self.browsers:
            b.quit()
        try:
            self.apid.stop()
        finally:
            self.stack.stop()


class Browser:
    """One headless Chromium through chromedriver (selenium's driver is
    `.driver`), with its own profile directory."""

    def __init__(self, directory, lang="en-US"):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        os.makedirs(directory)
        profile = os.path.join(directory, "profile")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ("--headless=new", f"--user-data-dir={profile}", "--window-size=1100,900",
                    f"--lang={lang}", "--disable-gpu", "--disable-dev-shm-usage",
                    # loopback only (see the top of this file)
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
                    "--proxy-server=http://127.0.0.1:9",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-default-apps", "--disable-extensions", "--no-first-run",
                    "--no-default-browser-check", "--disable-client-side-phishing-detection",
                    "--disable-domain-reliability", "--metrics-recording-only",
                    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication"):
            opts.add_argument(arg)
        if os.geteuid() == 0:
            opts.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
        opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
        self.log_path = os.path.join(directory, "chromedriver.log")
        service = Service(executable_path=CHROMEDRIVER, service_args=[f"--log-path={self.log_path}"])
        # chromedriver and Chromium see no proxy from the environment either.
        for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            os.environ.pop(name, None)
        self.driver = webdriver.Chrome(service=service, options=opts)
        self.driver.set_page_load_timeout(30)

    def wait(self, condition, timeout=15, message=""):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(self.driver, timeout).until(condition, message)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def active_id(self):
        return self.js("return document.activeElement ? document.activeElement.id : null;")

    def text(self, element_id):
        return self.js("const e = document.getElementById(arguments[0]); return e ? e.textContent : null;",
                       element_id)

    def wait_text(self, element_id, predicate, timeout=15):
        """Waits until the element's text satisfies predicate; returns it."""
        last = [None]

        def check(_):
            last[0] = self.text(element_id)
            return last[0] is not None and predicate(last[0])
        try:
            self.wait(check, timeout)
        except Exception:
            raise AssertionError(f"#{element_id}: {last[0]!r} after {timeout} s")
        return last[0]

    def screenshot(self, name):
        os.makedirs(SCREENSHOTS, exist_ok=True)
        path = os.path.join(SCREENSHOTS, name)
        self.driver.save_screenshot(path)
        return path

    def fresh(self, origin, path="/"):
        """Forgets the session and the saved language, then opens origin+path."""
        self.driver.get(origin + "/")
        self.driver.delete_all_cookies()
        self.js("localStorage.clear();")
        self.driver.get(origin + path)

    def quit(self):
        try:
            self.driver.quit()
        except Exception:
            pass
