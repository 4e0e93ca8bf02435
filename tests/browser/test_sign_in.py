"""Signing in, the account page, the language switch and signing out, in a real browser."""

from __future__ import annotations

from tests.browser.conftest import check_accessibility, screenshot, sign_in


def test_sign_in_page_is_accessible_on_desktop_and_phone(live, new_page) -> None:
    for phone in (False, True):
        page = new_page(phone=phone)
        page.goto("/login")
        assert page.title().startswith("Đăng nhập")
        assert page.locator("html").get_attribute("lang") == "vi"
        check_accessibility(page, "login")
        screenshot(page, "dang-nhap" + ("-dien-thoai" if phone else ""))
        assert page.console_errors == []


def test_wrong_password_then_right_one_then_sign_out(live, new_page) -> None:
    username, password = live.user("hoa.nt", "counter", full_name="Nguyễn Thị Hoa")
    page = new_page()
    sign_in(page, username, "không phải mật khẩu")
    alert = page.get_by_role("alert")
    assert "không đúng" in alert.inner_text()
    check_accessibility(page, "login-error")

    sign_in(page, username, password)
    assert "/login" not in page.url
    page.get_by_role("link", name="Nguyễn Thị Hoa").click()
    assert page.get_by_role("heading", name="Tài khoản").is_visible()
    check_accessibility(page, "account")
    screenshot(page, "tai-khoan")

    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Account").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_role("button", name="Sign out").click()
    assert "/login" in page.url
    assert page.get_by_role("heading", name="Sign in").is_visible()  # the language choice outlives the session
    page.goto("/account")
    assert "/login" in page.url  # the server ended the session, not only the browser
    assert page.console_errors == []
