-- One word, one meaning: a "tip" is a resident's tip; the library holds safety *advice*.
ALTER TABLE safety_tips RENAME TO advice;
ALTER TABLE broadcasts RENAME COLUMN safety_tip_id TO advice_id;
