//! Scripted behaviour tests.
