"""The train panel: a form, a supervised worker process, live plots and the run history."""
