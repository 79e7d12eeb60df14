"""browser: Debian's headless Chromium driven by Debian's chromedriver through
python3-selenium, sealed off: a profile directory of its own (the caller's),
every host name but localhost resolving to nothing (--host-resolver-rules)
and every non-loopback connection sent to a proxy that is not there, no
background networking, component updates, sync or first-run pages. So it
reaches servers on 127.0.0.1 and nothing else. --no-sandbox only when running
as root, which Chromium's sandbox refuses. Used by the browser tests
(tests/web/web_stack.py) and the demo (tools/demo-pages); trusts nothing it
is shown."""
import os
import shutil

CHROMIUM = os.environ.get("ROSTER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("ROSTER_CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"


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
