DROP TABLE notes;
DROP TABLE consent_categories;
DROP TABLE consent_agencies;
DROP TABLE consent_parties;
DROP TABLE consents;
DROP TABLE guardians;
DROP TABLE cases;
