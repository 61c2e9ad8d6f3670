"""Typed exceptions: the library raises these, only the CLI turns them into messages."""

from __future__ import annotations


class CvCaptchaError(Exception):
    """Base class of every error cvcaptcha raises on purpose."""


class DatasetError(CvCaptchaError):
    """A folder of captchas cannot be used (missing, empty, bad files)."""


class ImageError(CvCaptchaError):
    """An image cannot be decoded or is not usable as a captcha."""


class ImageTooLargeError(ImageError):
    """An image exceeds the pixel limit; refused before it is decoded."""


class ImageTooSmallError(ImageError):
    """An image is too small to hold a captcha."""


class LabelError(CvCaptchaError):
    """Labels are inconsistent or hold characters a model cannot emit."""


class ModelFileError(CvCaptchaError):
    """A model file is missing, corrupt, of an unknown version or not trusted."""


class ConfigError(CvCaptchaError):
    """A configuration or parameter value is invalid."""
