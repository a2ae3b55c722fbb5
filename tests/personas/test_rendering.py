"""The preview is deterministic text that visibly follows every slider and the region."""

from __future__ import annotations

import pytest

from apps.agents.models import SLIDERS, RegionProfile
from apps.personas.rendering import PersonaSettings, instruction_text, sample_chat, sample_email


def _texts(settings: PersonaSettings) -> tuple[str, str, str]:
    email = sample_email(settings)
    return (
        email["subject"] + email["body"],
        sample_chat(settings),
        instruction_text(settings, clone_name="Rory's clone", owner_name="Rory Rep"),
    )


def test_the_same_settings_always_give_the_same_text():
    settings = PersonaSettings(formal_casual=30, concise_detailed=70)
    assert _texts(settings) == _texts(PersonaSettings(formal_casual=30, concise_detailed=70))


@pytest.mark.parametrize("slider", SLIDERS)
def test_moving_any_slider_changes_the_email_and_the_chat_message(slider):
    low = PersonaSettings(**{slider: 10})
    high = PersonaSettings(**{slider: 90})
    low_email, low_chat, low_instructions = _texts(low)
    high_email, high_chat, high_instructions = _texts(high)
    assert low_email != high_email
    assert low_chat != high_chat
    assert low_instructions != high_instructions


@pytest.mark.parametrize("slider", SLIDERS)
def test_every_band_of_a_slider_reads_differently(slider):
    emails = {
        sample_email(PersonaSettings(**{slider: value}))["body"] for value in (0, 25, 45, 65, 95)
    }
    assert len(emails) == 5


def test_concise_email_is_much_shorter_than_detailed_one():
    concise = sample_email(PersonaSettings(concise_detailed=0))["body"]
    detailed = sample_email(PersonaSettings(concise_detailed=100))["body"]
    assert len(detailed) > 2 * len(concise)
    assert "•" in detailed and "•" not in concise


def test_technical_end_talks_about_the_api_and_business_end_about_roi():
    technical = sample_email(PersonaSettings(technical_business=0))["body"]
    business = sample_email(PersonaSettings(technical_business=100))["body"]
    assert "API" in technical and "ROI" not in technical
    assert "ROI" in business and "API" not in business


def test_proactive_end_proposes_a_date_and_reactive_end_waits():
    proactive = sample_email(PersonaSettings(proactive_reactive=0))["body"]
    reactive = sample_email(PersonaSettings(proactive_reactive=100))["body"]
    assert "12 Mar 2026" in proactive
    assert "2026" not in reactive and "reply" in reactive


@pytest.mark.django_db
def test_region_sets_greeting_date_format_and_sign_off(org):
    dach = RegionProfile.objects.get(code="dach")
    us = RegionProfile.objects.get(code="us")
    german = sample_email(PersonaSettings(formal_casual=20, proactive_reactive=10, region=dach))
    american = sample_email(PersonaSettings(formal_casual=20, proactive_reactive=10, region=us))
    assert german["body"].startswith("Dear Ms Becker,")
    assert "12.03.2026" in german["body"] and "With kind regards," in german["body"]
    assert american["body"].startswith("Hi Dana,")
    assert "03/12/2026" in american["body"] and "Best," in american["body"]


@pytest.mark.django_db
def test_instruction_text_names_region_conventions_and_custom_instructions(org):
    japan = RegionProfile.objects.get(code="japan")
    text = instruction_text(
        PersonaSettings(region=japan, custom_instructions="Never discuss discounts."),
        clone_name="Kenji",
        owner_name="Rory Rep",
    )
    assert "You are Kenji, writing on behalf of Rory Rep." in text
    assert "YYYY/MM/DD" in text and "With sincere thanks," in text
    assert text.endswith("Additional instructions: Never discuss discounts.")


def test_a_very_casual_setting_overrides_a_formal_region_greeting():
    casual = sample_email(PersonaSettings(formal_casual=100))
    assert casual["body"].startswith("Hey Dana,") and "Cheers," in casual["body"]
