"""Calibration bins, ECE, Brier score and calibrated confidence, checked by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.outcomes.models import CalibrationBin
from apps.outcomes.selectors import calibrated_confidence, calibration_report
from apps.outcomes.services import calibration_recompute
from tests.factories.outcomes import OutcomeFactory, action_type

# (predicted confidence, score) of decided email_sent outcomes.
DECIDED = [(0.15, 0.0), (0.15, 1.0), (0.85, 1.0), (0.9, 0.0), (1.0, 1.0)]


def decided(confidence: float, score: float, code: str = "email_sent"):
    occurred = timezone.now() - timedelta(days=3)
    return OutcomeFactory(
        action_type=action_type(code),
        predicted_confidence=confidence,
        occurred_at=occurred,
        status="resolved" if score else "expired",
        score=score,
        resolved_at=occurred + timedelta(hours=2),
    )


@pytest.fixture
def example(org):
    for confidence, score in DECIDED:
        decided(confidence, score)
    OutcomeFactory(predicted_confidence=0.5)  # pending: not counted
    decided(0.3, 1.0, code="escalation")  # another action type
    calibration_recompute()


def test_bins_hold_count_mean_predicted_and_mean_actual(example):
    report = calibration_report(action_type=action_type("email_sent"))
    counted = {b["index"]: b for b in report["bins"] if b["count"]}
    assert len(report["bins"]) == 10
    assert set(counted) == {1, 8, 9}
    assert counted[1] == {
        "index": 1,
        "lower": 0.1,
        "upper": 0.2,
        "count": 2,
        "mean_predicted": pytest.approx(0.15),
        "mean_actual": 0.5,
    }
    assert (counted[8]["count"], counted[8]["mean_actual"]) == (1, 1.0)
    # 1.0 falls in the last bin: min(floor(1.0 × 10), 9) = 9
    assert counted[9]["count"] == 2
    assert counted[9]["mean_predicted"] == pytest.approx(0.95)
    assert counted[9]["mean_actual"] == 0.5


def test_ece_brier_and_sample_size_match_the_hand_computed_values(example):
    report = calibration_report(action_type=action_type("email_sent"))
    assert report["sample_size"] == 5
    # ECE = (2·|0.5−0.15| + 1·|1−0.85| + 2·|0.5−0.95|) / 5 = 1.75 / 5
    assert report["ece"] == pytest.approx(0.35)
    # Brier = (0.0225 + 0.7225 + 0.0225 + 0.81 + 0) / 5
    assert report["brier"] == pytest.approx(0.3155)
    assert report["updated_at"] is not None


def test_calibrated_confidence_is_the_isotonic_fit_interpolated_between_bins(example):
    # Bin means 0.5, 1.0, 0.5 (weights 2, 1, 2) pool to 0.5, 2/3, 2/3 at x = 0.15, 0.85, 0.95.
    assert calibrated_confidence(action_type_code="email_sent", confidence=0.1) == 0.5
    assert calibrated_confidence(action_type_code="email_sent", confidence=0.5) == pytest.approx(
        0.5 + (2 / 3 - 0.5) * 0.5, abs=1e-6
    )
    assert calibrated_confidence(action_type_code="email_sent", confidence=0.99) == pytest.approx(
        2 / 3, abs=1e-6
    )


def test_calibrated_confidence_never_falls_as_the_raw_confidence_rises(example):
    values = [
        calibrated_confidence(action_type_code="email_sent", confidence=step / 100)
        for step in range(101)
    ]
    assert values == sorted(values)


def test_no_calibrated_confidence_without_decided_outcomes(org):
    OutcomeFactory(predicted_confidence=0.5)
    calibration_recompute()
    assert calibrated_confidence(action_type_code="email_sent", confidence=0.5) is None
    assert calibrated_confidence(action_type_code="no_such_type", confidence=0.5) is None
    report = calibration_report(action_type=action_type("email_sent"))
    assert (report["sample_size"], report["ece"], report["brier"]) == (0, None, None)


def test_recalibrating_again_without_new_data_changes_no_bin(example):
    stamps = list(CalibrationBin.objects.order_by("pk").values_list("updated_at", flat=True))
    assert calibration_recompute() == 0
    assert (
        list(CalibrationBin.objects.order_by("pk").values_list("updated_at", flat=True)) == stamps
    )


def test_new_decided_outcomes_move_only_their_bin(example):
    decided(0.45, 1.0)
    assert calibration_recompute(action_type=action_type("email_sent")) == 1
    report = calibration_report(action_type=action_type("email_sent"))
    assert report["sample_size"] == 6
    assert report["bins"][4]["count"] == 1
