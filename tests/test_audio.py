"""Unit tests of utils/audio.py: generated tone words and the spectrogram."""

import numpy as np
import pytest
import scipy.signal

from utils import ArgumentError, audio


def test_a_pure_tone_peaks_at_its_frequency_bin():
    sample_rate, frame_length = 4000, 128
    k = 10  # 312.5 Hz, exactly on bin 10
    time = np.arange(2000) / sample_rate
    tone = np.sin(2 * np.pi * k * sample_rate / frame_length * time)
    power = audio.spectrogram(tone, frame_length, 64, decibels=False)
    assert power.shape == (1 + (2000 - 128) // 64, 65)
    assert (power.argmax(axis=1) == k).all()
    assert audio.frequency_bins(frame_length, sample_rate)[k] == pytest.approx(312.5)


def test_spectrogram_matches_scipy_stft():
    x = np.random.default_rng(0).standard_normal((3, 1000))
    ours = audio.spectrogram(x, 128, 48, decibels=False)
    _, _, z = scipy.signal.stft(x, nperseg=128, noverlap=128 - 48, window="hann", boundary=None, padded=False)
    window_sum = scipy.signal.get_window("hann", 128).sum()  # scipy scales the spectrum by 1 / sum(window)
    reference = np.abs(z * window_sum) ** 2
    np.testing.assert_allclose(ours, np.swapaxes(reference, 1, 2), rtol=1e-4, atol=1e-4)


def test_decibels_are_ten_log10_of_power():
    x = np.random.default_rng(1).standard_normal(512)
    np.testing.assert_allclose(audio.spectrogram(x), 10 * np.log10(audio.spectrogram(x, decibels=False) + 1e-10),
                               rtol=1e-5, atol=1e-4)


def test_tone_words_are_deterministic_and_shaped():
    waveforms, labels, clean = audio.make_tone_words(30, seed=3)
    again, labels_again, _ = audio.make_tone_words(30, seed=3)
    np.testing.assert_array_equal(waveforms, again)
    np.testing.assert_array_equal(labels, labels_again)
    assert waveforms.shape == clean.shape == (30, 2000) and waveforms.dtype == np.float32
    assert set(labels) <= set(range(len(audio.TONE_WORDS)))
    assert np.abs(clean).max() <= 1.0 + 1e-6
    assert not np.array_equal(waveforms, audio.make_tone_words(30, seed=4)[0])


def test_tone_word_contours_are_where_the_names_say():
    # Without noise, the loudest bin of the first and last voiced frames follows the contour.
    waveforms, labels, _ = audio.make_tone_words(120, seed=0, noise=0.0)
    power = audio.spectrogram(waveforms, decibels=False)
    frequencies = audio.frequency_bins()
    for power_row, label in zip(power, labels):
        loud = power_row.max(axis=1) > 0.3 * power_row.max()
        first, last = np.flatnonzero(loud)[[0, -1]]
        start, end = frequencies[power_row[first].argmax()], frequencies[power_row[last].argmax()]
        word = audio.TONE_WORDS[label]
        expected_start = 900 if word in ("rise", "fall") else (400 if word.startswith("low") else 1300)
        if word in ("rise", "fall"):  # the first loud frame is already part of the way along the chirp
            assert (start < end) == (word == "rise"), (word, start, end)
        else:
            assert abs(start - expected_start) < 400, (word, start)
            assert (end > 900) == word.endswith("high"), (word, end)


def test_noise_has_the_requested_level():
    waveforms, _, clean = audio.make_tone_words(50, seed=0, noise=0.5)
    assert np.std(waveforms - clean) == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize("call, name", [
    (lambda: audio.make_tone_words(0), "n"),
    (lambda: audio.make_tone_words(5, seed=-1), "seed"),
    (lambda: audio.make_tone_words(5, sample_rate=2000), "sample_rate"),
    (lambda: audio.make_tone_words(5, duration=0.1), "duration"),
    (lambda: audio.make_tone_words(5, noise=-1.0), "noise"),
    (lambda: audio.spectrogram(np.zeros((2, 2, 300))), "waveforms"),
    (lambda: audio.spectrogram(np.zeros(100), frame_length=128), "waveforms"),
    (lambda: audio.spectrogram(np.zeros(300), frame_length=1), "frame_length"),
    (lambda: audio.spectrogram(np.zeros(300), frame_step=0), "frame_step"),
    (lambda: audio.spectrogram(np.zeros(300), decibels=1), "decibels"),
    (lambda: audio.spectrogram(np.array([np.nan] * 300)), "waveforms"),
    (lambda: audio.frequency_bins(0), "frame_length"),
])
def test_bad_arguments_raise_argument_error_naming_them(call, name):
    with pytest.raises(ArgumentError, match=name):
        call()
