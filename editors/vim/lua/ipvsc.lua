-- Neovim: runs the ipvsc language server (`ipvsc lsp`) for ipvs buffers.
--
--   require('ipvsc').setup()                                  -- `ipvsc` from PATH
--   require('ipvsc').setup({ cmd = { '/path/to/ipvsc', 'lsp' } })
--
-- Works with Neovim 0.7 (vim.lsp.start_client) and later (vim.lsp.start).
local M = {}

M.config = { cmd = { 'ipvsc', 'lsp' } }

local clients = {}

--- Starts the server for a buffer, or attaches the buffer to the one already running for its
--- folder.
function M.start(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or vim.fn.getcwd()
  local config = vim.tbl_extend('force', {
    name = 'ipvsc',
    root_dir = root,
  }, M.config)
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = clients[root]
  if not id or vim.lsp.client_is_stopped(id) then
    id = vim.lsp.start_client(config)
    clients[root] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

--- Starts the server for every ipvs buffer from now on. `config` is merged into the client's
--- configuration (`cmd`, `settings`, `on_attach`, ...).
function M.setup(config)
  M.config = vim.tbl_extend('force', M.config, config or {})
  vim.api.nvim_create_autocmd('FileType', {
    pattern = 'ipvs',
    group = vim.api.nvim_create_augroup('ipvsc', { clear = true }),
    callback = function(args)
      M.start(args.buf)
    end,
  })
end

return M
