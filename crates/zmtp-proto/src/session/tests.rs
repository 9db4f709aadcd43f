//! Tests for the session.
