"""The window around the workflows: sign-in, navigation, sync status and the feedback banner."""
