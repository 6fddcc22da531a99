DROP TABLE uploads;
DROP TABLE photos;
