-- The language a member reads, chosen when they joined (from Telegram's language, or picked)
-- or later in /settings. NULL: the timebank's default language, whatever it is now.
ALTER TABLE members ADD COLUMN language TEXT
    CHECK (language IS NULL OR length(language) BETWEEN 2 AND 8);
