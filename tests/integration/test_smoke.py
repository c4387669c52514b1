import httpx


def test_pixel_stores_a_page_view(collector):
    response = httpx.get(f"{collector.url}/i", params={"e": "pv", "p": "web", "tv": "t-1", "url": "https://a.com/"})
    assert response.status_code == 200
    [event] = collector.good()
    assert event["event"] == "page_view"
    assert event["network_userid"] == response.cookies["sp"]
