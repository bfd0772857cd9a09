"""A configured model's options (its ``litellm_params``) and readiness."""
