DROP TABLE spot_checks;
DROP TABLE spot_check_draws;
