-- Fireside for Neovim 0.11+: completions from the local model, code actions, alerts.
-- Use: `nvim -u scripts/nvim/fireside.lua`, or copy into your init.lua and set FIRESIDE_BIN.
local fireside_bin = vim.env.FIRESIDE_BIN
  or vim.fs.joinpath(vim.fs.dirname(vim.fs.dirname(vim.fs.dirname(debug.getinfo(1, 'S').source:sub(2)))), '.venv', 'bin', 'fireside')

vim.lsp.config('fireside', {
  cmd = vim.list_extend({ fireside_bin, 'serve' }, vim.g.fireside_extra_args or {}),
  -- The languages with tree-sitter context (any other filetype added here gets plain completions).
  filetypes = { 'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact', 'go', 'rust', 'java', 'c', 'cpp' },
  root_markers = { 'pyproject.toml', 'setup.py', 'package.json', 'tsconfig.json', 'go.mod', 'Cargo.toml', 'pom.xml',
    'build.gradle', 'CMakeLists.txt', 'compile_commands.json', '.git' },
  init_options = vim.g.fireside_settings or { maxTokens = 64, debounceMs = 50 },
  handlers = {
    -- Anomaly alerts from `fireside monitor` (when prometheusUrl is set).
    ['fireside/alert'] = function(_, alert)
      local level = alert.severity == 'error' and vim.log.levels.ERROR or vim.log.levels.WARN
      if alert.status == 'resolved' then level = vim.log.levels.INFO end
      vim.notify(('Fireside %s: %s (%s)'):format(alert.status, alert.summary or '', alert.generator_url or ''), level)
    end,
    ['fireside/status'] = function(_, status)
      if status.state == 'degraded' then vim.notify('Fireside: ' .. status.message, vim.log.levels.ERROR) end
    end,
  },
})
vim.lsp.enable('fireside')

vim.api.nvim_create_autocmd('LspAttach', {
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    if not client or client.name ~= 'fireside' then return end
    if vim.lsp.inline_completion then -- Neovim 0.12+: ghost text
      vim.lsp.inline_completion.enable(true, { bufnr = args.buf })
    else -- 0.11: the model's completion as a completion item
      vim.lsp.completion.enable(true, client.id, args.buf, { autotrigger = true })
    end
    vim.keymap.set('n', '<leader>fa', vim.lsp.buf.code_action, { buffer = args.buf, desc = 'Fireside code actions' })
  end,
})
