// RecordStore over an SqlSession: the one implementation behind sqlite: and postgresql: DSNs.
// Every method is one transaction (writes) or one retried read; see sql_session.h for what is
// retried and for how long.
#pragma once

#include <memory>

#include "opal/record_store.h"
#include "store/sql_session.h"

namespace opal::store {

std::unique_ptr<RecordStore> NewSqlRecordStore(std::unique_ptr<SqlSession> session);

}  // namespace opal::store
