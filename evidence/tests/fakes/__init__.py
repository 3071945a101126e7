"""Fake platform servers (real HTTP on 127.0.0.1) built from the platforms' documented payloads."""
