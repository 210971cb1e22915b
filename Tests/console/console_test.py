"""The console in a real browser: Selenium driving Debian's headless Chromium through nginx against
the running stack. A member logs in, buys a pack (double-clicked), books and cancels, opens a ticket
that a moderator in a second browser answers live, claims the daily bonus and finds themself on the
leaderboard; a broadcast arrives live in two tabs and reading it in one marks it read in the other;
a reload keeps the session; an admin disabling the member in a third browser sends the member's
console back to the login page. Every page, for a member and an admin, at 1440 and 375 px: no error
in the browser's log, every control named, nothing wider than the window, and a screenshot
(GUILDHALL_CONSOLE_SHOTS, default var/console-screenshots). The first load's size and time are checked
against the console's promise (150 KB compressed, usable within 1 s)."""

import os
import socket
import sys
import threading
import time
import urllib.parse
import uuid

import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "socketio"))
from live_checks import ADMIN, BASE, api, check, eventually, login, run  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHOTS = os.environ.get("GUILDHALL_CONSOLE_SHOTS", os.path.join(ROOT, "var", "console-screenshots"))
CHROMIUM = os.environ.get("GUILDHALL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GUILDHALL_CHROMEDRIVER", "/usr/bin/chromedriver")
# Waits for what a user would see happen (a slow machine is three times slower than a fast one).
SEEN = float(os.environ.get("GUILDHALL_CONSOLE_WAIT", "20"))
MEMBER_PAGES = ["Bookings", "Tickets", "Leveling", "Notifications", "Account"]
STAFF_PAGES = ["Ticket desk", "Users", "Catalogue", "Leveling admin", "Settings", "Dashboard"]
drivers = []


def browser(width=1440, height=1000):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={width},{height}", "--lang=en-GB"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    if width < 500:
        # A phone's viewport: headless windows are never narrower than 500 px.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
    drivers.append(driver)
    return driver


def until(driver, condition, what, timeout=SEEN):
    """Waits for `condition(driver)` to be truthy; records a failed check (and returns None) if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition(driver)
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException):
            pass
        if time.monotonic() > deadline:
            check(False, f"{what} (not seen within {timeout:.0f} s; page: {driver.title!r} {driver.current_url})")
            return None
        time.sleep(0.1)


def xpath_text(text):
    return "concat('" + text.replace("'", "', \"'\", '") + "', '')"


def control(driver, label):
    """The control a visible label names."""
    found = driver.find_elements(By.XPATH, f"//label[normalize-space()={xpath_text(label)}]")
    for element in found:
        target = element.get_attribute("for")
        if target:
            return driver.find_element(By.ID, target)
    raise AssertionError(f"no control labelled {label!r}")


def button(driver, text, exact=True):
    expression = f"normalize-space()={xpath_text(text)}" if exact else f"starts-with(normalize-space(), {xpath_text(text)})"
    found = [element for element in driver.find_elements(By.XPATH, f"//button[{expression}] | //a[contains(@class,'button')][{expression}]") if element.is_displayed()]
    return found[0] if found else None


def named(driver, name):
    found = [element for element in driver.find_elements(By.XPATH, f"//*[@aria-label={xpath_text(name)}]") if element.is_displayed()]
    return found[0] if found else None


def open_page(driver, name):
    """Follows the navigation link `name` (through the menu on a narrow screen)."""
    link = driver.find_element(By.XPATH, f"//nav[@id='nav']//a[normalize-space()={xpath_text(name)}]")
    if not link.is_displayed():
        driver.find_element(By.CSS_SELECTOR, ".menu-toggle").click()
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "main h1").text.strip() == name and not d.find_elements(By.XPATH, "//main//p[normalize-space()='Loading…']"), f"the {name} page")


def log_in_by_keyboard(driver, username, password):
    """The login with the keyboard alone: the username field has the focus, Tab, Enter."""
    driver.get(BASE + "/")
    until(driver, lambda d: d.switch_to.active_element.get_attribute("autocomplete") == "username", "the focus in the Username field")
    ActionChains(driver).send_keys(username).send_keys(Keys.TAB).send_keys(password).send_keys(Keys.ENTER).perform()
    until(driver, lambda d: d.find_elements(By.ID, "signed-in-user") and d.find_element(By.ID, "signed-in-user").text == username, "signed in with the keyboard alone")
    # The navigation too: Tab to a link, Enter follows it.
    link = driver.find_element(By.XPATH, "//nav[@id='nav']//a[normalize-space()='Tickets']")
    driver.execute_script("arguments[0].focus()", link)
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "main h1").text == "Tickets", "a page opened with the keyboard")


def dark_scheme(driver, who):
    """The console follows prefers-color-scheme."""
    light = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    dark = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    check(light != dark, f"prefers-color-scheme: dark changes the page ({light} → {dark})")
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, f"{who}-dark-1440.png"))
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})


def log_in(driver, username, password, base=BASE):
    driver.get(base + "/")
    until(driver, lambda d: d.find_elements(By.XPATH, "//label[normalize-space()='Username']"), "the login form")
    control(driver, "Username").send_keys(username)
    control(driver, "Password").send_keys(password)
    button(driver, "Log in").click()
    until(driver, lambda d: d.find_elements(By.ID, "signed-in-user") and d.find_element(By.ID, "signed-in-user").text == username, f"{username} signed in, in the header")


def browser_errors(driver, what):
    """Checks that nothing went wrong in the page since the last look (errors, failed requests)."""
    entries = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    check(not entries, f"{what}: the browser logged {entries}")


UNNAMED_CONTROLS = """
const unnamed = [];
for (const element of document.querySelectorAll('button, input, select, textarea, a[href]')) {
  if (element.type === 'hidden' || element.hidden || element.closest('[hidden]') || element.getAttribute('aria-hidden') === 'true') continue;
  const name = (element.labels && element.labels.length) || element.getAttribute('aria-label') || element.getAttribute('aria-labelledby')
    || (['BUTTON', 'A'].includes(element.tagName) && element.textContent.trim());
  if (!name) unnamed.push(element.outerHTML.slice(0, 120));
}
return unnamed;
"""


def look_at(driver, who, page, width):
    """One page as a user meets it: named controls, nothing wider than the window, no errors; a screenshot."""
    unnamed = driver.execute_script(UNNAMED_CONTROLS)
    check(not unnamed, f"{who} {page} at {width} px: controls without a name: {unnamed}")
    header_name = driver.find_element(By.ID, "signed-in-user")
    check(header_name.is_displayed() and header_name.size["width"] >= 24, f"{who} {page} at {width} px: the username in the header is hidden ({header_name.size})")
    overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    check(overflow <= 1, f"{who} {page} at {width} px: the page is {overflow} px wider than the window")
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, f"{who}-{page.lower().replace(' ', '-')}-{width}.png"))
    browser_errors(driver, f"{who} {page} at {width} px")


def first_load():
    """A first visit: what it transfers and when it can be used."""
    driver = browser()
    driver.get(BASE + "/")
    until(driver, lambda d: d.execute_script("return performance.getEntriesByName('guildhall-usable').length"), "the first load marked usable")
    usable_ms, transferred = driver.execute_script(
        "const nav = performance.getEntriesByType('navigation')[0];"
        "const bytes = nav.transferSize + performance.getEntriesByType('resource').reduce((sum, r) => sum + r.transferSize, 0);"
        "return [performance.getEntriesByName('guildhall-usable')[0].startTime, bytes];"
    )
    # "Log in with Discord" when auth says Discord login is on, starting a login that returns here.
    discord_on = api("GET", "/api/auth/health").get("components", {}).get("discord_login") == "on"
    link = until(driver, lambda d: d.find_elements(By.LINK_TEXT, "Log in with Discord"), "the Discord button") if discord_on else None
    if link:
        start = requests.get(link[0].get_attribute("href"), allow_redirects=False, timeout=15)
        check(start.status_code == 302 and "state=" in start.headers.get("Location", ""), f"the Discord login starts: {start.status_code} {start.text[:200]}")
    check(transferred <= 150_000, f"the first load transferred {transferred} bytes (at most 150 KB)")
    check(usable_ms <= 1000, f"the first load was usable after {usable_ms:.0f} ms (at most 1 s)")
    print(f"first load: {transferred} bytes, usable after {usable_ms:.0f} ms")
    browser_errors(driver, "the first load")
    driver.quit()
    drivers.remove(driver)


def member_books(driver, member_token):
    open_page(driver, "Bookings")
    balance = driver.find_element(By.ID, "hours-balance")
    check(balance.get_attribute("aria-labelledby") and driver.find_element(By.ID, balance.get_attribute("aria-labelledby")).text == "Hours balance", "the balance is labelled Hours balance")
    until(driver, lambda d: d.find_element(By.ID, "hours-balance").text == "0", "a new member's balance of 0")
    pack = next(p for p in api("GET", "/api/booking/shop/packs") if p["active"])
    buy = named(driver, f"Buy {pack['name']}")
    ActionChains(driver).double_click(buy).perform()
    until(driver, lambda d: d.find_element(By.ID, "hours-balance").text == str(pack["hours"]), f"the balance after buying {pack['name']}")
    # The marker: an estimate answered after the purchase.
    button(driver, "Estimate").click()
    until(driver, lambda d: "h:" in d.find_element(By.CSS_SELECTOR, ".estimate").text, "a price estimate")
    purchases = [entry for entry in api("GET", "/api/booking/wallet", member_token)["transactions"] if entry["kind"] == "purchase"]
    check(len(purchases) == 1, f"a double-clicked Buy bought once: {purchases}")

    control(driver, "Game name").send_keys("Selenium server")
    button(driver, "Find free VMs").click()
    book = until(driver, lambda d: button(d, "Book ", exact=False), "a free VM to book")
    if book:
        book.click()
        until(driver, lambda d: "Booked" in d.page_source, "the booking confirmed")
        cancel = until(driver, lambda d: button(d, "Cancel (refund 2 h)"), "the booking with its refund in My bookings")
        until(driver, lambda d: d.find_element(By.ID, "hours-balance").text == str(pack["hours"] - 2), "the balance after booking 2 hours")
        # The day's timeline shows the VM taken (the day the booking starts on).
        start_day = control(driver, "Start").get_attribute("value")[:10]
        driver.execute_script("arguments[0].value = arguments[1]", control(driver, "Day"), start_day)
        button(driver, "Show day").click()
        until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".timeline .lane .slot"), "the booking on the day's timeline")
        if cancel:
            cancel.click()
            until(driver, lambda d: "Cancelled; 2 hours back." in d.page_source, "the cancellation and its refund")
            until(driver, lambda d: d.find_element(By.ID, "hours-balance").text == str(pack["hours"]), "the balance after the refund")
    browser_errors(driver, "booking")


def ticket_answered_live(member, moderator):
    open_page(member, "Tickets")
    subject = f"Server will not start {uuid.uuid4().hex[:6]}"
    control(member, "Subject").send_keys(subject)
    control(member, "Message").send_keys("It stops at the loading screen.")
    button(member, "Open ticket").click()
    until(member, lambda d: "/#/tickets/" in d.current_url and "It stops at the loading screen." in d.find_element(By.CSS_SELECTOR, ".chat").text, "the new ticket's conversation")
    until(member, lambda d: d.find_element(By.ID, "live-state").text == "live", "the member's live connection")

    open_page(moderator, "Ticket desk")
    link = until(moderator, lambda d: d.find_elements(By.LINK_TEXT, subject), "the ticket on the desk")
    if not link:
        return None
    link[0].click()
    until(moderator, lambda d: "It stops at the loading screen." in d.find_element(By.CSS_SELECTOR, ".chat").text, "the conversation on the desk")
    reply = "Try the 1.20 image; it is fixed there."
    moderator.find_element(By.ID, "reply-text").send_keys(reply)
    button(moderator, "Send").click()
    until(member, lambda d: reply in d.find_element(By.CSS_SELECTOR, ".chat").text, "the moderator's reply, live in the member's browser", timeout=10)
    sent = [m for m in member.find_elements(By.CSS_SELECTOR, ".chat .message p") if m.text == reply]
    check(len(sent) == 1, f"the reply shown once ({len(sent)})")
    button(moderator, "Claim") and button(moderator, "Claim").click()
    until(member, lambda d: "claimed by" in d.page_source, "the claim, live in the member's browser")
    os.makedirs(SHOTS, exist_ok=True)
    member.save_screenshot(os.path.join(SHOTS, "member-ticket-conversation-1440.png"))
    moderator.save_screenshot(os.path.join(SHOTS, "moderator-ticket-conversation-1440.png"))
    browser_errors(member, "the member's ticket")
    browser_errors(moderator, "the moderator's desk")
    return member.current_url


class Relay:
    """A TCP relay in front of nginx that the test can cut: the network between a browser and
    Guildhall (a train's tunnel, a phone changing networks)."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepting = threading.Event()
        self.accepting.set()
        self.open = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.accepting.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Drops every connection and refuses new ones until `restore`."""
        self.accepting.clear()
        with self.lock:
            ends, self.open = self.open, []
        for end in ends:
            try:
                end.shutdown(socket.SHUT_RDWR)
                end.close()
            except OSError:
                pass

    def restore(self):
        self.accepting.set()


def catch_up_after_a_dropped_connection(member_name, password, conversation, moderator_token):
    """The member's connection drops while staff write: back online, the conversation has the
    message once, without a reload."""
    target = urllib.parse.urlsplit(BASE)
    relay = Relay((target.hostname, target.port))
    driver = browser()
    relayed = f"http://127.0.0.1:{relay.port}"
    log_in(driver, member_name, password, base=relayed)
    ticket_id = conversation.rsplit("/", 1)[1]
    driver.get(f"{relayed}/#/tickets/{ticket_id}")
    until(driver, lambda d: "Try the 1.20 image" in d.find_element(By.CSS_SELECTOR, ".chat").text, "the conversation through the relay")
    until(driver, lambda d: d.find_element(By.ID, "live-state").text == "live", "live through the relay")
    relay.cut()
    until(driver, lambda d: d.find_element(By.ID, "live-state").text == "reconnecting", "the console noticing the dropped connection")
    missed = f"Written while you were away {uuid.uuid4().hex[:6]}"
    api("POST", f"/api/tickets/{ticket_id}/send", moderator_token, {"message": missed})
    relay.restore()
    until(driver, lambda d: d.find_element(By.ID, "live-state").text == "live", "live again after the connection came back")
    until(driver, lambda d: missed in d.find_element(By.CSS_SELECTOR, ".chat").text, "the message written meanwhile, caught up without a reload")
    shown = [m for m in driver.find_elements(By.CSS_SELECTOR, ".chat .message p") if m.text == missed]
    check(len(shown) == 1, f"the missed message shown once ({len(shown)})")
    earlier = [m for m in driver.find_elements(By.CSS_SELECTOR, ".chat .message p") if m.text.startswith("Try the 1.20 image")]
    check(len(earlier) == 1, f"the earlier reply not shown again after catching up ({len(earlier)})")
    driver.quit()
    drivers.remove(driver)
    relay.listener.close()


def daily_and_leaderboard(driver):
    open_page(driver, "Leveling")
    button(driver, "Claim daily bonus").click()
    until(driver, lambda d: "XP, streak 1" in d.page_source, "the daily bonus claimed")
    until(driver, lambda d: "(you)" in d.find_element(By.XPATH, "//section[h2='Leaderboard']").text, "the member on the leaderboard")
    browser_errors(driver, "leveling")


def broadcast_in_two_tabs(driver, admin_token):
    open_page(driver, "Notifications")
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    second = driver.current_window_handle
    driver.get(BASE + "/#/notifications")
    until(driver, lambda d: d.find_elements(By.ID, "signed-in-user"), "the second tab signed in by the refresh cookie")
    until(driver, lambda d: d.find_element(By.ID, "live-state").text == "live", "the second tab's live connection")
    driver.switch_to.window(first)
    until(driver, lambda d: d.find_element(By.ID, "live-state").text == "live", "the first tab's live connection")
    title = f"Maintenance tonight {uuid.uuid4().hex[:6]}"
    api("POST", "/api/notifications/broadcast", admin_token, {"title": title, "message": "VMs restart at 02:00.", "priority": "high"}, expect=201)
    for handle in (first, second):
        driver.switch_to.window(handle)
        until(driver, lambda d: title in d.find_element(By.CSS_SELECTOR, ".banner-area").text, f"the broadcast's banner in tab {handle[:6]}")
        until(driver, lambda d: title in d.find_element(By.CSS_SELECTOR, "ul.inbox").text, f"the broadcast in tab {handle[:6]}'s inbox")
    driver.switch_to.window(second)
    named(driver, f"Mark “{title}” read").click()
    until(driver, lambda d: d.find_element(By.XPATH, f"//li[.//strong[normalize-space()={xpath_text(title)}]]").get_attribute("data-read") == "true", "read in the tab that read it")
    driver.switch_to.window(first)
    until(driver, lambda d: d.find_element(By.XPATH, f"//li[.//strong[normalize-space()={xpath_text(title)}]]").get_attribute("data-read") == "true", "read in the other tab", timeout=10)
    until(driver, lambda d: title not in d.find_element(By.CSS_SELECTOR, ".banner-area").text, "the banner gone in the other tab")
    browser_errors(driver, "the broadcast, first tab")
    driver.switch_to.window(second)
    browser_errors(driver, "the broadcast, second tab")
    driver.close()
    driver.switch_to.window(first)


def every_page(driver, who, pages, width):
    for page in pages:
        open_page(driver, page)
        time.sleep(0.3)
        look_at(driver, who, page, width)


def main():
    first_load()
    admin_token = login(*ADMIN)
    suffix = uuid.uuid4().hex[:8]
    member_name, moderator_name = f"member-{suffix}", f"mod-{suffix}"
    password = f"console-password-{suffix}"
    member = api("POST", "/api/users", admin_token, {"username": member_name, "password": password, "role": "user"}, expect=201)
    api("POST", "/api/users", admin_token, {"username": moderator_name, "password": password, "role": "moderator"}, expect=201)
    api("PATCH", f"/api/users/{member['user_id']}", admin_token, {"discord_id": str(700_000_000_000_000_000 + int(suffix, 16) % 10**17)})
    member_token = login(member_name, password)

    alice = browser()
    log_in(alice, member_name, password)
    browser_errors(alice, "logging in")
    member_books(alice, member_token)
    moderator = browser()
    log_in_by_keyboard(moderator, moderator_name, password)
    conversation = ticket_answered_live(alice, moderator)
    if conversation:
        catch_up_after_a_dropped_connection(member_name, password, conversation, login(moderator_name, password))
    daily_and_leaderboard(alice)
    broadcast_in_two_tabs(alice, admin_token)

    alice.refresh()
    until(alice, lambda d: d.find_elements(By.ID, "signed-in-user") and d.find_element(By.ID, "signed-in-user").text == member_name, "the session kept across a reload")
    check(alice.execute_script("return document.cookie.includes('guildhall_refresh')") is False, "the refresh cookie is not readable by scripts")
    every_page(alice, "member", MEMBER_PAGES, 1440)
    narrow = browser(375, 800)
    log_in(narrow, member_name, password)
    every_page(narrow, "member", MEMBER_PAGES, 375)
    if conversation:
        # The conversation is a page of its own, at both widths.
        for driver, width in ((alice, 1440), (narrow, 375)):
            driver.get(conversation)
            until(driver, lambda d: "Try the 1.20 image" in d.find_element(By.CSS_SELECTOR, ".chat").text, f"the conversation at {width} px")
            look_at(driver, "member", "Ticket conversation", width)

    admin = browser()
    log_in(admin, *ADMIN)
    every_page(admin, "admin", MEMBER_PAGES + STAFF_PAGES, 1440)
    dark_scheme(admin, "admin-dashboard")
    admin_narrow = browser(375, 800)
    log_in(admin_narrow, *ADMIN)
    every_page(admin_narrow, "admin", MEMBER_PAGES + STAFF_PAGES, 375)

    # An admin disables the member: the member's console goes back to the login page.
    open_page(admin, "Users")
    disable = until(admin, lambda d: named(d, f"Disable {member_name}"), "the member's Disable button on the Users page")
    if disable:
        disable.click()
        until(alice, lambda d: d.find_elements(By.XPATH, "//label[normalize-space()='Username']"), "the disabled member back on the login page", timeout=10)
        until(alice, lambda d: "disabled" in d.page_source, "the disabled member told why")
    browser_errors(admin, "disabling a user")


def finish():
    for driver in drivers:
        try:
            driver.quit()
        except WebDriverException:
            pass


if __name__ == "__main__":
    try:
        run("console browser test", main)
    finally:
        finish()
