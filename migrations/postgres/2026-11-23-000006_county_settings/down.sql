DROP TABLE evidence_thresholds;
