"""Request forms: admin-added fields per category and deflection counting."""
