"""web_stack: roster's web pages as a browser sees them, for tests/web/*.test.
A private MariaDB (and, when asked, a private Dovecot using roster's passdb on
it: tests/dovecot/dovecot_stack.py), roster-apid serving the pages straight
from the source tree's web/ on a loopback TCP port (tests/api/apid_stack.py),
and Debian's headless Chromium driven by Debian's chromedriver through
python3-selenium.

The browser (tests/web/browser.py) is sealed off to loopback, with a profile
directory of its own inside the test's temporary directory. Screenshots go to the build directory's
tests/web/screenshots/ (test artefacts; doc/web.md links them)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
import apid_stack  # noqa: E402
import browser  # noqa: E402
from apid_stack import dovecot_stack  # noqa: E402

CHROMIUM = browser.CHROMIUM
CHROMEDRIVER = browser.CHROMEDRIVER
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


class Browser(browser.Browser):
    """browser.Browser whose screenshots are test artefacts of this build."""

    def screenshot(self, name):
        os.makedirs(SCREENSHOTS, exist_ok=True)
        path = os.path.join(SCREENSHOTS, name)
        self.driver.save_screenshot(path)
        return path
