-- A snapshot being pulled from the hub, page by page, so a pull cut off
-- half way resumes where it stopped. body is the page as received.
CREATE TABLE snapshot_pages (
	page INTEGER PRIMARY KEY,
	body BLOB NOT NULL
);
