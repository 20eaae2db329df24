"""Tests of the contact-center simulator."""
