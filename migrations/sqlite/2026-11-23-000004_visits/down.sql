DROP TABLE visit_photos;
DROP TABLE visits;
ALTER TABLE photos DROP COLUMN dhash_r270;
ALTER TABLE photos DROP COLUMN dhash_r180;
ALTER TABLE photos DROP COLUMN dhash_r90;
