// SPDX-License-Identifier: MIT
#include <memory>

#include "commands.hpp"
#include "vidrec/serve/serve.hpp"

namespace vidrec::cli {

void register_serve(CLI::App& app) {
  auto cfg = std::make_shared<ServeConfig>();
  auto quiet = std::make_shared<bool>(false);
  auto read_timeout = std::make_shared<long>(cfg->read_timeout.count());
  auto* sub =
      app.add_subcommand("serve", "HTTP recommendations from a model file (hot reload on change or SIGHUP)");
  sub->add_option("--model", cfg->model_path, "Model file written by `vidrec train`")->required();
  sub->add_option("--host", cfg->host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", cfg->port, "TCP port (0 = any free port)")->capture_default_str();
  sub->add_option("--threads", cfg->threads, "HTTP event loops (0 = one per core)")->capture_default_str();
  sub->add_option("--max-connections", cfg->max_connections, "Open connections at most")
      ->capture_default_str();
  sub->add_option("--max-body", cfg->max_body, "Largest request body in bytes (larger: 413)")
      ->capture_default_str();
  sub->add_option("--csv-k", cfg->csv_k, "Results per user of a text/csv /invocations body without ?k=")
      ->capture_default_str();
  sub->add_option("--read-timeout", *read_timeout, "Seconds a connection may stay silent")
      ->capture_default_str();
  sub->add_flag("-q,--quiet", *quiet, "No access log on stderr");
  sub->callback([cfg, quiet, read_timeout] {
    cfg->access_log = !*quiet;
    cfg->read_timeout = std::chrono::seconds(*read_timeout);
    serve_until_signal(*cfg);
  });
}

}  // namespace vidrec::cli
