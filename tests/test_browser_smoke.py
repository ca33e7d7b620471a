"""The browser harness itself works: the home page opens in Chromium, offline and clean."""


def test_home_page_opens_clean(open_page) -> None:
    visit = open_page("")
    assert "transconv" in visit.page.title()
    visit.assert_clean()
