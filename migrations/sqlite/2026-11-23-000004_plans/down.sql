DROP TABLE plan_measures;
DROP TABLE plan_versions;
