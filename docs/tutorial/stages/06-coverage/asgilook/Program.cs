using Asgilook;

App.Create(new Config(), args).Run();
