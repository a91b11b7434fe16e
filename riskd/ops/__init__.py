"""Operations: systemd notify, structured logs, metrics and health."""
