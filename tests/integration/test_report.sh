# deadlinectl report on a hand-built dataset whose figures are worked out by
# hand below, from both sources (the state database and the case database's
# history); bad input; --out; CSV; HTML self-containment; the digest line.
. tests/integration/lib.sh
C=$DEADLINECTL
DB="$TMP/cases.db"
STATE="$TMP/state.db"
CONF="$TMP/deadlined.conf"

cat > "$CONF" <<CONF
source = { database = "$DB"; };
state = { database = "$STATE"; };
notify = { mail_receiver = "box"; digest_time = "08:00"; };
receivers = {
  box = { type = "maildir"; path = "$TMP/mail/Alerts"; from = "deadlines@council.example"; };
};
rules = {
  decision = {
    title = "Referral decisions";
    start = [ "referral" ]; met = [ "referral_decision" ]; cancel = [ "referral_nfa" ];
    due = ( "1 working day" );
    target = {
      value = 85.0;
      comparators = ( { label = "England average"; value = 75.5; } );
      quartiles = [ 50.0, 70.0, 80.0 ];
      source = "test figures";
    };
  };
  visit = {
    title = "Visits";
    start = [ "cla_started" ]; met = [ "cla_visit" ];
    due = ( "5 working days" );
    target = { value = 60; };
  };
};
CONF

sqlite3 "$DB" < conf/schema/native.sql
sqlite3 "$DB" <<'SQL'
INSERT INTO deadlined_teams VALUES
  ('T1', 'Duty', 'duty@council.example', NULL),
  ('T2', 'Assessment', 'assess@council.example', NULL),
  ('T3', 'Empty <team>', 'empty@council.example', NULL);
INSERT INTO deadlined_cases (case_ref, child_ref, team_ref) VALUES
  ('D1', 'C1', 'T1'), ('D2', 'C2', 'T1'), ('D3', 'C3', 'T1'), ('D4', 'C4', 'T2'),
  ('D5', 'C5', 'T2'), ('D6', 'C6', 'T2'), ('D7', 'C7', 'T2'), ('D8', 'C8', 'T1'),
  ('D9', 'C9', 'T1'), ('D10', 'C10', 'T1'), ('D11', 'C11', 'T2'), ('D12', 'C12', 'T1'),
  ('D13', 'C13', 'T1'), ('V1', 'C14', 'T2');
INSERT INTO deadlined_events (case_ref, kind, occurred) VALUES
  ('D1', 'referral', '2024-06-03'), ('D1', 'referral_decision', '2024-06-04'),
  ('D2', 'referral', '2024-06-03'), ('D2', 'referral_decision', '2024-06-05'),
  ('D3', 'referral', '2024-06-10'), ('D3', 'referral_decision', '2024-06-17'),
  ('D4', 'referral', '2024-06-10'), ('D4', 'referral_decision', '2024-06-10'),
  ('D5', 'referral', '2024-06-18'), ('D5', 'referral_nfa', '2024-06-20'),
  ('D6', 'referral', '2024-07-01'), ('D6', 'referral_decision', '2024-07-02'),
  ('D7', 'referral', '2024-07-01'), ('D7', 'referral_decision', '2024-07-05'),
  ('D8', 'referral', '2024-07-22'),
  ('D9', 'referral', '2024-05-20'), ('D9', 'referral_decision', '2024-05-21'),
  ('D10', 'referral', '2024-07-26'), ('D10', 'referral_decision', '2024-08-01'),
  ('D11', 'referral', '2024-07-08'), ('D11', 'referral_decision', '2024-07-09'),
  ('D12', 'referral', '2024-07-15'), ('D12', 'referral_decision', '2024-07-17'),
  ('D13', 'referral', '2024-07-15'), ('D13', 'referral_decision', '2024-07-16'),
  ('V1', 'cla_started', '2024-06-03'), ('V1', 'cla_visit', '2024-06-07');
SQL
