"""Parametrize `app_id` over every discovered app (apps are found by apps/<id>/app.toml)."""

import pytest

from apptest import APPS
from tinyml.apps import load_app


def pytest_generate_tests(metafunc):
    if "app_id" in metafunc.fixturenames:
        metafunc.parametrize("app_id", APPS)


@pytest.fixture
def app(app_id):
    return load_app(app_id)
