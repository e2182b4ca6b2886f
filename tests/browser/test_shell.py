"""The app shell: it loads, signs in with the keyboard, and stays within its byte budget."""

from __future__ import annotations

from tests.browser.conftest import LiveServer, screenshot, sign_in


def test_sign_in_with_keyboard_lands_on_projects(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    org = live_server.org()
    person = live_server.person(org, "manager")
    sign_in(page, person, org)
    assert page.evaluate("JSON.parse(localStorage.getItem('kolam.me')).email") == person.email
    assert person.email in page.locator("#nav").inner_text()
    screenshot(page, "shell-signed-in")
    assert page.js_errors == []


def test_wrong_password_says_so(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    org = live_server.org()
    person = live_server.person(org)
    page.goto("/#/login")
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill("not the password")
    page.keyboard.press("Enter")
    alert = page.locator(".login .error")
    alert.wait_for()
    assert "password" in alert.inner_text().lower()
