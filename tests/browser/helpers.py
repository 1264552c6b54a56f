"""Steps shared by the browser tests."""

from playwright.sync_api import Page

from storefront.accounts.tests.factories import DEFAULT_PASSWORD


def log_in_to_admin(page: Page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    """Log in through the admin's login form; end on the admin index."""
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
