"""Logging in and out, and the page frame that shows who is signed in."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD


@pytest.mark.django_db
def test_the_login_page_labels_its_fields(client: Client) -> None:
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert '<label for="id_username">Username</label>' in response.text
    assert '<label for="id_password">Password</label>' in response.text


@pytest.mark.django_db
def test_logging_in_leads_to_the_queue_showing_the_user_and_role(client: Client, cast: dict[str, Any]) -> None:
    response = client.post(reverse("login"), {"username": "rita", "password": PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("review-queue")
    assert "Signed in as <strong>rita</strong>" in response.text
    assert "(reviewer)" in response.text


@pytest.mark.django_db
def test_a_wrong_password_is_refused(client: Client, cast: dict[str, Any]) -> None:
    response = client.post(reverse("login"), {"username": "rita", "password": "not it"})

    assert response.status_code == 200
    assert 'role="alert"' in response.text
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logging_out_is_a_post_from_the_nav(client: Client, cast: dict[str, Any]) -> None:
    client.login(username="lena", password=PASSWORD)
    page = client.get(reverse("review-queue")).text
    assert f'<form method="post" action="{reverse("logout")}">' in page

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
