DROP TABLE agencies;
DROP TABLE areas;
