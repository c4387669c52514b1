"""URLs from settings are shown without credentials or query strings wherever they are logged."""

import pytest

from app.redact import safe_url, safe_urls, scrub


@pytest.mark.parametrize(
    "url, shown",
    [
        ("http://127.0.0.1:9000/good", "http://127.0.0.1:9000/good"),
        ("https://bob:s3cret@recv.example/in", "https://***@recv.example/in"),
        ("https://recv.example/in?token=abc", "https://recv.example/in?***"),
        ("https://bob@recv.example:8443/in?token=abc#part", "https://***@recv.example:8443/in?***"),
        ("http://[::1]:8080/x?key=1", "http://[::1]:8080/x?***"),
        ("http://[broken/x", "<url not shown>"),
    ],
)
def test_safe_url_keeps_where_and_hides_secrets(url, shown):
    assert safe_url(url) == shown


def test_every_server_of_a_list_is_made_safe():
    assert safe_urls("nats://u:p@a:4222, nats://b:4222") == "nats://***@a:4222,nats://b:4222"


def test_an_error_message_loses_the_url_and_any_secret_it_quotes():
    url = "https://bob:s3cret@recv.example/in?token=abc"
    message = scrub(f"ConnectError for {url}: bad auth s3cret", url)
    assert "s3cret" not in message and "token=abc" not in message
    assert "https://***@recv.example/in?***" in message
