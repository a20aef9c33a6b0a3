#include "opal/task_queue.h"

#include <algorithm>

#include "opal/hash.h"
#include "store/record_writer.h"
#include "store/sql_session.h"
#include "store/store_util.h"

namespace opal {

namespace {

constexpr std::pair<TaskState, std::string_view> kStates[] = {{TaskState::kPending, "pending"},
                                                              {TaskState::kRunning, "running"},
                                                              {TaskState::kDone, "done"},
                                                              {TaskState::kFailed, "failed"}};

TaskState StateFromName(std::string_view n) {
  for (auto [s, name] : kStates)
    if (name == n) return s;
  return TaskState::kFailed;
}

int64_t L(const std::string& s) { return s.empty() ? 0 : std::stoll(s); }
int64_t Micros(double seconds) { return static_cast<int64_t>(seconds * 1e6); }

constexpr const char* kTaskColumns =
    "id, job_id, workload_key, workload_json, target_key, target, framework, framework_version, "
    "settings, state, "
    "attempts, max_attempts, lease_owner, lease_expires_us, last_error, trials, best_s, lost, "
    "max_lost";

TaskInfo RowToTask(const store::SqlRow& r) {
  TaskInfo t;
  t.id = L(r[0]);
  t.job_id = r[1];
  t.workload_key = r[2];
  t.workload_json = r[3];
  t.target_key = r[4];
  t.target_string = r[5];
  t.framework = r[6];
  t.framework_version = r[7];
  t.settings = Json::parse(r[8], nullptr, false);
  t.state = StateFromName(r[9]);
  t.attempts = static_cast<int>(L(r[10]));
  t.max_attempts = static_cast<int>(L(r[11]));
  t.lease_owner = r[12];
  t.lease_expires_us = L(r[13]);
  t.last_error = r[14];
  t.trials = L(r[15]);
  t.best_s = r[16].empty() ? 0 : std::stod(r[16]);
  t.lost = static_cast<int>(L(r[17]));
  t.max_lost = static_cast<int>(L(r[18]));
  return t;
}

Json SpecJson(const JobSpec& s) {
  Json w = Json::array();
  for (const auto& [key, json] : s.workloads) w.push_back({key, json});
  Json j = {{"name", s.name},
            {"workloads", w},
            {"target", s.target_string},
            {"target_key", s.target_key},
            {"framework", s.framework},
            {"framework_version", s.framework_version},
            {"settings", s.settings},
            {"max_attempts", s.max_attempts}};
  if (s.max_lost != JobSpec{}.max_lost)
    j["max_lost"] = s.max_lost;  // ids of older jobs stay the same
  return j;
}

class SqlTaskQueue final : public TaskQueue {
 public:
  explicit SqlTaskQueue(std::unique_ptr<store::SqlSession> db) : db_(std::move(db)) {}

  Result<std::string> Submit(const JobSpec& spec) override {
    if (spec.workloads.empty())
      return Error(ErrorCode::kInvalidArgument, "job '{}' has no workloads", spec.name);
    if (spec.max_attempts < 1)
      return Error(ErrorCode::kInvalidArgument, "max_attempts must be >= 1");
    if (spec.max_lost < 1) return Error(ErrorCode::kInvalidArgument, "max_lost must be >= 1");
    const std::string id = spec.Id();
    const int64_t now = NowMicros();
    // A task row holds the shared settings and its own entry of settings["tasks"], never every
    // task's: copying all of them into each row was quadratic in the job's size (20,000 tasks).
    Json shared = spec.settings;
    Json per_task = Json::object();
    if (shared.is_object()) {
      if (auto t = shared.find("tasks"); t != shared.end() && t->is_object()) {
        per_task = std::move(*t);
        shared.erase("tasks");
      }
    }
    const std::string shared_text = CanonicalJson(shared);
    auto row_settings = [&](const std::string& key) {
      auto own = per_task.find(key);
      if (own == per_task.end()) return shared_text;
      Json row = shared;
      row["tasks"] = Json::object({{key, *own}});
      return CanonicalJson(row);
    };
    OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      OPAL_RETURN_IF_ERROR(
          Q("INSERT INTO jobs (id, name, spec, created_us) VALUES ($1, $2, $3, $4)" +
                store::OnConflict("id"),
            {id, spec.name, CanonicalJson(SpecJson(spec)), now}));
      for (size_t i = 0; i < spec.workloads.size(); ++i) {
        const auto& [key, json] = spec.workloads[i];
        OPAL_RETURN_IF_ERROR(
            Q("INSERT INTO tasks (job_id, seq, workload_key, workload_json, target_key, target, "
              "framework, "
              "framework_version, framework_major, settings, state, attempts, max_attempts, "
              "lease_owner, "
              "lease_expires_us, last_error, trials, best_s, updated_us, lost, max_lost) VALUES "
              "($1, $2, $3, $4, $5, "
              "$6, $7, $8, $9, $10, 'pending', 0, $11, '', 0, '', 0, 0, $12, 0, $13)" +
                  store::OnConflict("job_id, workload_key"),
              {id, static_cast<int64_t>(i), key, json, spec.target_key, spec.target_string,
               spec.framework, spec.framework_version, store::MajorVersion(spec.framework_version),
               row_settings(key), int64_t{spec.max_attempts}, now,
               int64_t{spec.max_lost}}));
      }
      return Status::Ok();
    }));
    return id;
  }

  Result<std::optional<Lease>> Acquire(const WorkerCaps& caps, double lease_s) override {
    const std::string major = store::MajorVersion(caps.framework_version);
    // First a task whose holder vanished (its lease expired): it has trials already. Rare, so a
    // plain read tells whether to look for one in a transaction.
    std::vector<store::SqlRow> expired;
    OPAL_RETURN_IF_ERROR(
        Read(expired,
             "SELECT id FROM tasks WHERE state = 'running' AND lease_expires_us < $1 AND "
             "target_key = $2 AND framework = $3 AND framework_major = $4 LIMIT 1",
             {NowMicros(), caps.target_key, caps.framework, major}));
    if (!expired.empty()) {
      OPAL_ASSIGN_OR_RETURN(std::optional<Lease> lease, Reclaim(caps, lease_s));
      if (lease) return lease;
    }
    // Else the first pending task, taken by one statement that is its own transaction.
    std::optional<Lease> out;
    OPAL_RETURN_IF_ERROR(db_->Autocommit([&]() -> Status {
      out.reset();
      const int64_t now = NowMicros();
      OPAL_ASSIGN_OR_RETURN(
          auto rows,
          db_->Rows("UPDATE tasks SET state = 'running', lease_owner = $4, lease_expires_us = $5, "
                    "updated_us = $6 "
                    "WHERE state = 'pending' AND id = (SELECT id FROM tasks WHERE target_key = $1 "
                    "AND state = 'pending' "
                    "AND framework = $2 "
                    "AND framework_major = $3 ORDER BY seq, id LIMIT 1" +
                        std::string(db_->dialect().skip_locked) + ") RETURNING " + kTaskColumns,
                    {caps.target_key, caps.framework, major, caps.worker_id, now + Micros(lease_s),
                     now}));
      if (!rows.empty()) out = Lease{RowToTask(rows[0]), caps.worker_id};
      return Status::Ok();
    }));
    return out;
  }

  Result<int64_t> Unfinished(const WorkerCaps& caps) override {
    std::vector<store::SqlRow> rows;
    OPAL_RETURN_IF_ERROR(
        Read(rows,
             "SELECT count(*) FROM tasks WHERE target_key = $1 AND state IN ('pending', 'running') "
             "AND framework = $2 AND framework_major = $3",
             {caps.target_key, caps.framework, store::MajorVersion(caps.framework_version)}));
    return L(rows.at(0).at(0));
  }

  Result<std::vector<std::string>> IncompatibleReasons(const WorkerCaps& caps) override {
    std::vector<store::SqlRow> rows;
    OPAL_RETURN_IF_ERROR(
        Read(rows,
             "SELECT DISTINCT j.name, t.framework, t.framework_version FROM tasks t JOIN jobs j ON "
             "j.id = t.job_id "
             "WHERE t.target_key = $1 AND t.state IN ('pending', 'running') AND NOT (t.framework = "
             "$2 AND "
             "t.framework_major = $3) ORDER BY j.name",
             {caps.target_key, caps.framework, store::MajorVersion(caps.framework_version)}));
    std::vector<std::string> out;
    for (const auto& r : rows)
      out.push_back("job '" + r[0] + "' needs " + r[1] + " " + r[2] + ", this worker runs " +
                    caps.framework + " " + caps.framework_version);
    return out;
  }

  Status Renew(const Lease& lease, double lease_s) override {
    return db_->Transaction([&]() -> Status {
      OPAL_RETURN_IF_ERROR(CheckLease(lease));
      const int64_t now = NowMicros();
      return Q("UPDATE tasks SET lease_expires_us = $2, updated_us = $3 WHERE id = $1",
               {lease.task.id, now + Micros(lease_s), now});
    });
  }

  Status AddTrials(const Lease& lease, const std::vector<Record>& records) override {
    return db_->Transaction([&] { return WriteTrials(lease, records, /*final_state=*/""); });
  }

  Status Complete(const Lease& lease, const std::vector<Record>& records) override {
    if (!records.empty())
      return db_->Transaction([&] { return WriteTrials(lease, records, "done"); });
    // Nothing to write with it (the worker's trials went in as they finished): one statement.
    return db_->Autocommit([&]() -> Status {
      int64_t changes = 0;
      OPAL_RETURN_IF_ERROR(
          db_->Query("UPDATE tasks SET state = 'done', lease_expires_us = 0, updated_us = $3 "
                     "WHERE id = $1 AND state = 'running' AND lease_owner = $2",
                     {lease.task.id, lease.worker_id, NowMicros()}, nullptr, &changes));
      if (changes == 1) return Status::Ok();
      bool done = false;  // already done by this worker (a retried call), or lost
      OPAL_RETURN_IF_ERROR(CheckLease(lease, &done));
      return done ? Status::Ok()
                  : Error(ErrorCode::kInternal, "task {} was not completed", lease.task.id);
    });
  }

  Status Fail(const Lease& lease, const std::string& error) override {
    return db_->Transaction([&]() -> Status {
      OPAL_RETURN_IF_ERROR(CheckLease(lease));
      return Q(
          "UPDATE tasks SET attempts = attempts + 1, state = CASE WHEN attempts + 1 >= "
          "max_attempts THEN "
          "'failed' ELSE 'pending' END, last_error = $2, lease_owner = '', lease_expires_us = 0, "
          "updated_us = $3 "
          "WHERE id = $1",
          {lease.task.id, error, NowMicros()});
    });
  }

  Status Release(const Lease& lease) override {
    return db_->Transaction([&]() -> Status {
      OPAL_RETURN_IF_ERROR(CheckLease(lease));
      return Q(
          "UPDATE tasks SET state = 'pending', lease_owner = '', lease_expires_us = 0, updated_us "
          "= $2 "
          "WHERE id = $1",
          {lease.task.id, NowMicros()});
    });
  }

  Result<std::vector<JobSummary>> Jobs() override {
    std::vector<store::SqlRow> rows;
    OPAL_RETURN_IF_ERROR(
        Read(rows,
             "SELECT j.id, j.name, j.spec, j.created_us, count(t.id), "
             "sum(CASE WHEN t.state = 'pending' THEN 1 ELSE 0 END), sum(CASE WHEN t.state = "
             "'running' THEN 1 ELSE 0 END), "
             "sum(CASE WHEN t.state = 'done' THEN 1 ELSE 0 END), sum(CASE WHEN t.state = 'failed' "
             "THEN 1 ELSE 0 END), "
             "sum(t.trials) FROM jobs j LEFT JOIN tasks t ON t.job_id = j.id "
             "GROUP BY j.id, j.name, j.spec, j.created_us ORDER BY j.created_us, j.id",
             {}));
    std::vector<JobSummary> out;
    for (const auto& r : rows) {
      JobSummary s{.id = r[0],
                   .name = r[1],
                   .created_us = L(r[3]),
                   .tasks = L(r[4]),
                   .pending = L(r[5]),
                   .running = L(r[6]),
                   .done = L(r[7]),
                   .failed = L(r[8]),
                   .trials = L(r[9])};
      Json spec = Json::parse(r[2], nullptr, false);
      if (spec.is_object()) {
        s.spec.name = spec.value("name", "");
        s.spec.target_string = spec.value("target", "");
        s.spec.target_key = spec.value("target_key", "");
        s.spec.framework = spec.value("framework", "");
        s.spec.framework_version = spec.value("framework_version", "");
        s.spec.settings = spec.value("settings", Json::object());
        s.spec.max_attempts = spec.value("max_attempts", 0);
        s.spec.max_lost = spec.value("max_lost", s.spec.max_lost);
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<TaskInfo>> Tasks(const std::string& job_id) override {
    std::vector<store::SqlRow> rows;
    OPAL_RETURN_IF_ERROR(Read(
        rows,
        std::string("SELECT ") + kTaskColumns + " FROM tasks WHERE job_id = $1 ORDER BY seq, id",
        {job_id}));
    std::vector<TaskInfo> out;
    for (const auto& r : rows) out.push_back(RowToTask(r));
    return out;
  }

  Status Heartbeat(const WorkerInfo& w) override {
    return db_->Transaction([&] {
      return Q(
          "INSERT INTO workers (id, host, target_key, state, last_seen_us, tasks_done) VALUES "
          "($1, $2, $3, $4, $5, $6)" +
              store::OnConflict("id",
                                {"host", "target_key", "state", "last_seen_us", "tasks_done"}),
          {w.id, w.host, w.target_key, w.state, w.last_seen_us ? w.last_seen_us : NowMicros(),
           w.tasks_done});
    });
  }

  Result<std::vector<WorkerInfo>> Workers() override {
    std::vector<store::SqlRow> rows;
    OPAL_RETURN_IF_ERROR(Read(rows,
                              "SELECT id, host, target_key, state, last_seen_us, tasks_done "
                              "FROM workers ORDER BY last_seen_us DESC, id",
                              {}));
    std::vector<WorkerInfo> out;
    for (const auto& r : rows) out.push_back({r[0], r[1], r[2], r[3], L(r[4]), L(r[5])});
    return out;
  }

 private:
  Status Q(const std::string& sql, const store::SqlParams& params) {
    return db_->Query(sql, params);
  }

  // Takes over a task whose lease expired (counting the lost holder), failing those that lost
  // max_lost holders; nullopt when another worker got there first.
  Result<std::optional<Lease>> Reclaim(const WorkerCaps& caps, double lease_s) {
    std::optional<Lease> out;
    OPAL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
      out.reset();
      const int64_t now = NowMicros();
      while (true) {
        OPAL_ASSIGN_OR_RETURN(
            auto lost,
            db_->Rows("SELECT id, lease_owner, lost, max_lost, last_error FROM tasks WHERE state = "
                      "'running' AND lease_expires_us < $1 AND target_key = $2 AND framework = $3 "
                      "AND framework_major = $4 ORDER BY lease_expires_us, id LIMIT 1" +
                          std::string(db_->dialect().skip_locked),
                      {now, caps.target_key, caps.framework,
                       store::MajorVersion(caps.framework_version)}));
        if (lost.empty()) return Status::Ok();
        const int64_t id = L(lost[0][0]), times = L(lost[0][2]) + 1;
        std::string why = "worker " + lost[0][1] + " lost its lease (died or stalled; " +
                          std::to_string(times) + " of " + lost[0][3] + " holders lost)";
        if (!lost[0][4].empty()) why += "; earlier: " + lost[0][4];
        if (times >= L(lost[0][3])) {
          OPAL_RETURN_IF_ERROR(
              Q("UPDATE tasks SET state = 'failed', lost = $2, last_error = $3, updated_us = $4 "
                "WHERE id = $1",
                {id, times, why, now}));
          continue;
        }
        OPAL_ASSIGN_OR_RETURN(
            auto rows,
            db_->Rows(
                "UPDATE tasks SET state = 'running', lost = $2, lease_owner = $3, "
                "lease_expires_us = $4, updated_us = $5, last_error = $6 WHERE id = $1 RETURNING " +
                    std::string(kTaskColumns),
                {id, times, caps.worker_id, now + Micros(lease_s), now, why}));
        if (rows.size() != 1) return Error(ErrorCode::kInternal, "task {} vanished", id);
        out = Lease{RowToTask(rows[0]), caps.worker_id};
        return Status::Ok();
      }
    }));
    return out;
  }

  // A read retried like every store operation (rows as text).
  Status Read(std::vector<store::SqlRow>& rows, const std::string& sql,
              const store::SqlParams& params) {
    return db_->Read([&]() -> Status {
      OPAL_ASSIGN_OR_RETURN(rows, db_->Rows(sql, params));
      return Status::Ok();
    });
  }

  // Inside a transaction: the task is still running under this worker's lease. With
  // `done_is_held`, a task this worker already completed passes too and *done is set (the
  // acknowledgement of that commit was lost and the call is being retried).
  Status CheckLease(const Lease& lease, bool* done = nullptr) {
    OPAL_ASSIGN_OR_RETURN(auto rows,
                          db_->Rows("SELECT state, lease_owner FROM tasks WHERE id = $1" +
                                        std::string(db_->dialect().for_update),
                                    {lease.task.id}));
    if (rows.empty()) return Error(ErrorCode::kFailed, "task {} no longer exists", lease.task.id);
    if (done && rows[0][0] == "done" && rows[0][1] == lease.worker_id) {
      *done = true;
      return Status::Ok();
    }
    if (rows[0][0] != "running" || rows[0][1] != lease.worker_id) {
      return Error(ErrorCode::kFailed,
                   "lease on task {} lost: it is {} under '{}' (this worker was too slow to renew)",
                   lease.task.id, rows[0][0], rows[0][1]);
    }
    return Status::Ok();
  }

  Status WriteTrials(const Lease& lease, const std::vector<Record>& records,
                     const std::string& final_state) {
    bool done = false;
    OPAL_RETURN_IF_ERROR(CheckLease(lease, final_state.empty() ? nullptr : &done));
    if (done) return Status::Ok();
    OPAL_ASSIGN_OR_RETURN(int64_t added, db_->writer().Insert(records));
    double best = 0;
    for (const Record& r : records)
      if (r.status == TrialStatus::kOk && r.median_s > 0 && (best == 0 || r.median_s < best))
        best = r.median_s;
    // Text parameters: cast where SQLite would otherwise compare text with numbers.
    std::string sql =
        "UPDATE tasks SET trials = trials + $2, updated_us = $3, best_s = CASE WHEN "
        "$4 > 0 AND (best_s = 0 OR $4 < best_s) THEN $4 ELSE best_s END";
    // A done task keeps the name of the worker that completed it in lease_owner.
    if (!final_state.empty()) sql += ", state = 'done', lease_expires_us = 0";
    return Q(sql + " WHERE id = $1", {lease.task.id, added, NowMicros(), best});
  }

  std::unique_ptr<store::SqlSession> db_;
};

}  // namespace

std::string_view TaskStateName(TaskState s) {
  for (auto [st, name] : kStates)
    if (st == s) return name;
  return "unknown";
}

std::string JobSpec::Id() const {
  return "job-" + Sha256Hex(CanonicalJson(SpecJson(*this))).substr(0, 16);
}

Result<std::unique_ptr<TaskQueue>> TaskQueue::Open(std::string_view dsn) {
  OPAL_ASSIGN_OR_RETURN(auto session, store::OpenSqlSession(dsn));
  return std::unique_ptr<TaskQueue>(new SqlTaskQueue(std::move(session)));
}

}  // namespace opal
