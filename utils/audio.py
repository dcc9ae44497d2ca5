"""Generated audio and spectrograms (chapter 10_applications).

Offline stand-ins for spoken keywords: each "word" of :data:`TONE_WORDS` is a
tone or chirp with a fixed frequency contour (steady low, steady high, rising,
falling, low-then-high, high-then-low), placed at a random time in a short clip,
with random length and pitch, and buried in white noise. They are made by code
from a seed, so the speech pipeline (waveform -> spectrogram -> CNN ->
saliency) runs anywhere without a download, and the time-frequency region that
carries each word is known exactly (the clean waveform is returned with the
noisy one).

:func:`spectrogram` is the short-time Fourier transform's power, written with
NumPy: Hann-windowed frames of ``frame_length`` samples every ``frame_step``
samples, no padding (the frames of ``scipy.signal.stft(..., boundary=None,
padded=False)``).
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

from ._checks import ArgumentError, check_array, check_bool, check_number, check_positive_int, check_seed

TONE_WORDS = ("low", "high", "rise", "fall", "low-high", "high-low")  # the classes, in label order

LOW_HZ, HIGH_HZ = 500.0, 1300.0  # the two frequency levels of every contour, before the pitch factor


def _contour(word: str, u: np.ndarray, low: float, high: float) -> np.ndarray:
    """Instantaneous frequency (Hz) of ``word`` at the relative times ``u`` in [0, 1]."""
    if word == "low":
        return np.full_like(u, low)
    if word == "high":
        return np.full_like(u, high)
    if word == "rise":
        return low + (high - low) * u
    if word == "fall":
        return high + (low - high) * u
    if word == "low-high":
        return np.where(u < 0.5, low, high)
    return np.where(u < 0.5, high, low)  # "high-low"


def make_tone_words(
    n: int,
    seed: int = 0,
    sample_rate: int = 4000,
    duration: float = 0.5,
    noise: float = 1.0,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` generated clips of the :data:`TONE_WORDS`; returns ``(waveforms, labels, clean)``.

    Labels are uniform over the six words. Each word lasts 0.2 to 0.3 s, starts
    at a uniform time that keeps it inside the clip of ``duration`` seconds,
    follows its contour between 500 and 1,300 Hz scaled by a pitch factor in
    [0.85, 1.15], and rises and falls with a sine-squared envelope (peak
    amplitude 1). ``waveforms`` adds white Gaussian noise of standard deviation
    ``noise``; ``clean`` is the same clips without it. Both have shape
    (n, round(sample_rate * duration)) and dtype float32; ``labels`` is int64.
    Deterministic given ``seed``. ``sample_rate`` must exceed 3,000 Hz (twice
    the highest frequency).
    """
    n = check_positive_int("n", n)
    seed = check_seed("seed", seed)
    sample_rate = check_positive_int("sample_rate", sample_rate)
    if sample_rate <= 2 * 1.15 * HIGH_HZ:
        raise ArgumentError(f"sample_rate must be above {2 * 1.15 * HIGH_HZ:.0f} Hz (Nyquist); got {sample_rate}.")
    duration = check_number("duration", duration, 0.35, 10.0)
    noise = check_number("noise", noise, 0.0)
    rng = np.random.default_rng(seed)
    n_samples = int(round(sample_rate * duration))
    time = np.arange(n_samples) / sample_rate
    labels = rng.integers(0, len(TONE_WORDS), size=n)
    clean = np.zeros((n, n_samples))
    for row, label in enumerate(labels):
        length = rng.uniform(0.2, 0.3)
        onset = rng.uniform(0.0, duration - length)
        pitch = rng.uniform(0.85, 1.15)
        inside = (time >= onset) & (time < onset + length)
        u = (time[inside] - onset) / length
        frequency = _contour(TONE_WORDS[label], u, LOW_HZ * pitch, HIGH_HZ * pitch)
        phase = 2 * np.pi * np.cumsum(frequency) / sample_rate + rng.uniform(0, 2 * np.pi)
        clean[row, inside] = np.sin(np.pi * u) ** 2 * np.sin(phase)
    waveforms = clean + noise * rng.standard_normal(clean.shape)
    return waveforms.astype(np.float32), labels.astype(np.int64), clean.astype(np.float32)


def spectrogram(
    waveforms,
    frame_length: int = 128,
    frame_step: int = 64,
    decibels: bool = True,
) -> np.ndarray:
    """Power spectrogram of ``waveforms`` (samples,) or (n, samples): shape (frames, bins) or (n, frames, bins).

    Frame $t$ holds samples $t \\cdot$ ``frame_step`` to $t \\cdot$ ``frame_step``
    + ``frame_length`` - 1, multiplied by the periodic Hann window
    $w_j = \\tfrac12 - \\tfrac12\\cos(2\\pi j / L)$; bin $k$ is
    $|\\sum_j w_j x_{t s + j} e^{-2\\pi i jk/L}|^2$ for $k = 0, \\dots, L/2$ (frequency
    $k \\cdot$ sample_rate $/ L$). There are 1 + (samples - L) // s frames.
    ``decibels=True`` returns $10 \\log_{10}(\\text{power} + 10^{-10})$. float32.
    """
    waveforms = check_array("waveforms", waveforms, finite=True)
    if waveforms.ndim not in (1, 2):
        raise ArgumentError(f"waveforms must be 1-D (samples,) or 2-D (n, samples); got shape {waveforms.shape}.")
    frame_length = check_positive_int("frame_length", frame_length)
    frame_step = check_positive_int("frame_step", frame_step)
    decibels = check_bool("decibels", decibels)
    if frame_length < 2:
        raise ArgumentError(f"frame_length must be at least 2; got {frame_length}.")
    n_samples = waveforms.shape[-1]
    if n_samples < frame_length:
        raise ArgumentError(f"waveforms has {n_samples} samples, fewer than frame_length={frame_length}.")
    n_frames = 1 + (n_samples - frame_length) // frame_step
    starts = frame_step * np.arange(n_frames)
    frames = waveforms[..., starts[:, None] + np.arange(frame_length)]  # (..., frames, frame_length)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame_length) / frame_length)
    power = np.abs(np.fft.rfft(frames.astype(np.float64) * window, axis=-1)) ** 2
    if decibels:
        power = 10 * np.log10(power + 1e-10)
    return power.astype(np.float32)


def frequency_bins(frame_length: int = 128, sample_rate: int = 4000) -> np.ndarray:
    """The frequency (Hz) of each bin of :func:`spectrogram`: $k \\cdot$ sample_rate / frame_length."""
    frame_length = check_positive_int("frame_length", frame_length)
    sample_rate = check_positive_int("sample_rate", sample_rate)
    return np.arange(frame_length // 2 + 1) * sample_rate / frame_length
