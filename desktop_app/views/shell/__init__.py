"""The shell: the window around the sections (frame, navigation, sign-in form, status line); it decides nothing."""
