from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import UsageError, parse_filters
from app.settings import Settings, SettingsError


def test_environment_variables_reach_every_field():
    settings = Settings.from_env(
        {
            "STRATEGISOK_CORPUS": "dok",
            "STRATEGISOK_INDEX_DIR": "/tmp/idx",
            "STRATEGISOK_MODEL": "intfloat/multilingual-e5-small",
            "STRATEGISOK_BATCH_SIZE": "8",
            "PATH": "/usr/bin",
        }
    )
    assert settings.corpus == Path("dok")
    assert settings.index_dir == Path("/tmp/idx")
    assert settings.model == "intfloat/multilingual-e5-small"
    assert settings.batch_size == 8


def test_unknown_variable_is_rejected_by_name():
    with pytest.raises(SettingsError, match="STRATEGISOK_MODLE"):
        Settings.from_env({"STRATEGISOK_MODLE": "x"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STRATEGISOK_BATCH_SIZE": "många"}, "heltal"),
        ({"STRATEGISOK_DEVICE": "gpu"}, "cpu eller cuda"),
        ({"STRATEGISOK_CHUNK_TOKENS": "4"}, "minst 32"),
    ],
)
def test_bad_values_name_the_setting(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_cli_values_override_environment():
    settings = Settings.from_env({"STRATEGISOK_MODEL": "a"}).with_overrides(model="b", device=None)
    assert settings.model == "b"
    assert settings.device == "cpu"


def test_filters_parse_years_and_repeat_keys():
    filters = parse_filters(["doc_type=remissvar", "doc_type=strategi", "year=2015-2020"])
    assert filters.doc_types == ("remissvar", "strategi")
    assert (filters.year_from, filters.year_to) == (2015, 2020)
    assert parse_filters(["year=2016"]).year_to == 2016


@pytest.mark.parametrize("item", ["doc_type", "färg=blå", "year=förra"])
def test_bad_filter_is_a_usage_error(item):
    with pytest.raises(UsageError):
        parse_filters([item])
